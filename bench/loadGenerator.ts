import { build } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import type { Optimizer } from '../src/optimizer.js';
import type { QueryPriority } from '../src/queryOptions.js';
import type { Workload, WorkloadSizes } from './workloads/workload.js';
import { Rng } from './workloads/workload.js';

/** Settings of one open-model load run. */
export interface LoadOptions {
  /** Arrivals per second, on a fixed schedule whatever the responses do. */
  rate: number;
  durationSeconds: number;
  /** Most requests in flight at once (callers); later arrivals wait for a caller, their delay counted. */
  concurrency: number;
  /** Share of arrivals sent as high and low priority; the rest are normal. */
  highShare: number;
  lowShare: number;
  seed: number;
}

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** What `qopt load` reports. */
export interface LoadReport {
  rate: number;
  durationSeconds: number;
  concurrency: number;
  /** Arrivals scheduled, completions (ok + failed), and what went missing or twice. */
  scheduled: number;
  succeeded: number;
  failed: Record<string, number>;
  lost: number;
  duplicated: number;
  achievedPerSecond: number;
  /** From each request's intended start (coordinated-omission corrected). */
  latency: LatencySummary;
  /** From the moment a caller actually sent it: what a closed-loop tool would report. */
  serviceTime: LatencySummary;
  byPriority: Record<QueryPriority, LatencySummary>;
  /** Service time per priority: where the executor's priority queue shows. */
  serviceByPriority: Record<QueryPriority, LatencySummary>;
  peakInFlight: number;
  peakExecutorQueue: number;
  executorWaitMs: { p50: number; p99: number; max: number };
  rssStartMb: number;
  rssPeakMb: number;
}

function histogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

function summary(values: Histogram): LatencySummary {
  const ms = (micros: number) => micros / 1000;
  return {
    count: values.totalCount,
    p50: ms(values.getValueAtPercentile(50)),
    p99: ms(values.getValueAtPercentile(99)),
    p999: ms(values.getValueAtPercentile(99.9)),
    max: ms(values.maxValue),
  };
}

function priorityOf(rng: Rng, options: LoadOptions): QueryPriority {
  const draw = rng.next();
  if (draw < options.highShare) return 'high';
  if (draw < options.highShare + options.lowShare) return 'low';
  return 'normal';
}

/**
 * An open-model, constant-arrival-rate load generator: request i is due at start + i / rate, and its
 * latency runs from that due time, not from when a caller got round to sending it. A closed loop
 * that waits for slow responses before sending more hides the queueing it caused (coordinated
 * omission); this one counts it.
 */
export async function runLoad(qo: Optimizer, workload: Workload, sizes: WorkloadSizes, options: LoadOptions): Promise<LoadReport> {
  const rng = new Rng(options.seed);
  const scheduled = Math.round(options.rate * options.durationSeconds);
  const completions = new Uint8Array(scheduled);
  const latency = histogram();
  const service = histogram();
  const byPriority = { high: histogram(), normal: histogram(), low: histogram() };
  const serviceByPriority = { high: histogram(), normal: histogram(), low: histogram() };
  const failed: Record<string, number> = {};
  let succeeded = 0;
  let duplicated = 0;
  let next = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  let peakQueue = 0;
  const rssStart = process.memoryUsage().rss;
  let rssPeak = rssStart;
  const started = performance.now();
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const send = (index: number) => {
    const due = started + (index * 1000) / options.rate;
    const query = rng.pick(workload.queries);
    const params = query.params(rng, sizes);
    const priority = priorityOf(rng, options);
    const sentAt = performance.now();
    inFlight += 1;
    peakInFlight = Math.max(peakInFlight, inFlight);
    qo.query(query.sql, params, { priority })
      .then(
        () => {
          succeeded += 1;
        },
        (error: unknown) => {
          const code = (error as { code?: string }).code ?? 'ERROR';
          failed[code] = (failed[code] ?? 0) + 1;
        },
      )
      .finally(() => {
        const done = performance.now();
        if (completions[index] === 1) duplicated += 1;
        completions[index] = 1;
        const micros = Math.max(1, Math.round((done - due) * 1000));
        latency.recordValue(micros);
        byPriority[priority].recordValue(micros);
        const serviceMicros = Math.max(1, Math.round((done - sentAt) * 1000));
        service.recordValue(serviceMicros);
        serviceByPriority[priority].recordValue(serviceMicros);
        inFlight -= 1;
        pump();
      });
  };

  // Sends everything that is due, as long as a caller is free; called on a timer and on every completion.
  const pump = () => {
    const now = performance.now();
    const due = Math.min(scheduled, Math.floor(((now - started) * options.rate) / 1000) + 1);
    while (next < due && inFlight < options.concurrency) send(next++);
    if (next >= scheduled && inFlight === 0) finish();
  };

  const ticker = setInterval(() => {
    pump();
    peakQueue = Math.max(peakQueue, qo.executor.metrics().queued);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 1);
  pump();
  await finished;
  clearInterval(ticker);
  const seconds = (performance.now() - started) / 1000;
  const completed = completions.reduce((sum, value) => sum + value, 0);
  const wait = qo.executor.metrics().waitMs;
  return {
    rate: options.rate,
    durationSeconds: options.durationSeconds,
    concurrency: options.concurrency,
    scheduled,
    succeeded,
    failed,
    lost: scheduled - completed,
    duplicated,
    achievedPerSecond: completed / seconds,
    latency: summary(latency),
    serviceTime: summary(service),
    byPriority: { high: summary(byPriority.high), normal: summary(byPriority.normal), low: summary(byPriority.low) },
    serviceByPriority: { high: summary(serviceByPriority.high), normal: summary(serviceByPriority.normal), low: summary(serviceByPriority.low) },
    peakInFlight,
    peakExecutorQueue: peakQueue,
    executorWaitMs: { p50: wait.p50, p99: wait.p99, max: wait.max },
    rssStartMb: rssStart / 1048576,
    rssPeakMb: rssPeak / 1048576,
  };
}
