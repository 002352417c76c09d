import { loadConfig } from '../../src/config.js';
import { AnomalyDetector } from '../../src/monitor/anomaly.js';
import { PerformanceMonitor } from '../../src/monitor/performanceMonitor.js';
import { QueryRecorder } from '../../src/monitor/recorder.js';
import type { QueryObservation } from '../../src/monitor/recorder.js';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import { analyzeSql } from '../../src/sql/analyze.js';
import type { Fingerprint } from '../../src/sql/analyze.js';
import { median, timePerCallMicrosSync } from '../harness.js';
import type { Benchmark, BenchContext } from '../harness.js';
import { Rng } from '../workloads/workload.js';
import { memoryFor10kFingerprints } from './monitorMemory.js';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const REPLAY_START = Date.UTC(2026, 0, 1);

interface MonitorBenchState {
  observations: QueryObservation[];
  monitored: Optimizer;
  unmonitored: Optimizer;
}

function lognormal(rng: Rng, medianMs: number, sigma: number): number {
  const u1 = Math.max(rng.next(), 1e-12);
  return medianMs * Math.exp(sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng.next()));
}

const SAMPLE_SPACING_MS = 0.1;
/** Pairs of throughput blocks per run (one block monitored, one not, in alternating order). */
const THROUGHPUT_PAIRS = 16;

/** Replayed time from a 2× latency regression (1 call/s) to the anomaly that reports it, in seconds. */
function detectionDelaySeconds(seed: number): { delay: number; falseAlarms: number } {
  const rng = new Rng(seed);
  const detector = new AnomalyDetector();
  // The regression starts at a different second of the minute each run, not on an interval boundary.
  const regressionAt = 3600 + ((seed * 23) % 60);
  let delay = Number.POSITIVE_INFINITY;
  detector.onAnomaly((anomaly) => {
    if (anomaly.metric === 'p95_latency' && anomaly.detectedAt >= REPLAY_START + regressionAt * 1000) delay = Math.min(delay, (anomaly.detectedAt - REPLAY_START) / 1000 - regressionAt);
  });
  for (let second = 0; second < regressionAt + 900; second += 1) {
    const factor = second >= regressionAt ? 2 : 1;
    detector.observe({ fingerprint: 'f' as Fingerprint, normalized: 'SELECT 1', durationMs: lognormal(rng, 5, 0.3) * factor, rows: 1, failed: false, at: REPLAY_START + second * 1000 });
  }
  const stationary = new AnomalyDetector();
  for (let second = 0; second < 2 * 3600; second += 1) {
    stationary.observe({ fingerprint: 'f' as Fingerprint, normalized: 'SELECT 1', durationMs: lognormal(rng, 5, 0.3), rows: 1, failed: false, at: REPLAY_START + second * 1000 });
  }
  return { delay, falseAlarms: stationary.list().length };
}

/**
 * Wall and CPU time per call of a synchronous loop, in ns. On a shared machine the process is often
 * descheduled mid-loop; CPU time (user + system of this process) leaves that out.
 */
function nanosPerCall(iterations: number, work: (index: number) => unknown): { wall: number; cpu: number } {
  const cpuBefore = process.cpuUsage();
  const wall = timePerCallMicrosSync(iterations, work) * 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { wall, cpu: ((cpu.user + cpu.system) * 1000) / iterations };
}

async function queriesPerSecond(qo: Optimizer, queries: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < queries) {
        next += 1;
        await qo.query('SELECT $1::int + 1 AS answer', [next]);
      }
    }),
  );
  return queries / ((performance.now() - started) / 1000);
}

/** The monitor's costs: per-sample recording, memory at 10,000 fingerprints, throughput on vs off, detection delay. */
export const monitorBenchmark: Benchmark<MonitorBenchState> = {
  name: 'monitor',
  description: 'performance monitor: recording cost, memory for 10k fingerprints, query throughput with monitoring on vs off, anomaly detection delay',
  figures: {
    recorder_record_ns: { unit: 'ns/sample', label: 'QueryRecorder.record (histograms + 1m/5m/1h windows), 1,000 fingerprints, wall', better: 'lower' },
    recorder_record_cpu_ns: { unit: 'ns/sample', label: 'same, process CPU time', better: 'lower' },
    monitor_record_ns: { unit: 'ns/sample', label: 'PerformanceMonitor.record (recorder + slow log + N+1 + anomalies), wall', better: 'lower' },
    monitor_record_cpu_ns: { unit: 'ns/sample', label: 'same, process CPU time', better: 'lower' },
    memory_10k_mb: { unit: 'MB', label: 'heap + array buffers for 10,000 fingerprints active in every minute of an hour (fresh process, settled)', better: 'lower' },
    memory_10k_first_read_mb: { unit: 'MB', label: 'same, read right after one gc() (counts backing stores not yet swept)', better: 'lower' },
    memory_10k_estimated_mb: { unit: 'MB', label: 'same, by the recorder’s own byte count', better: 'lower' },
    qps_monitor_on: { unit: 'queries/s', label: 'qo.query throughput, monitoring on (PostgreSQL, 8 concurrent)', better: 'higher' },
    qps_monitor_off: { unit: 'queries/s', label: 'qo.query throughput, monitoring off (same run, interleaved)', better: 'higher' },
    throughput_paired_ratio: { unit: '×', label: 'throughput on / off, median over back-to-back pairs of blocks (target ≥ 0.99)', better: 'higher' },
    implied_loss_percent: { unit: '%', label: 'monitor.record CPU time × off throughput (upper bound of the loss)', better: 'lower' },
    detection_delay_s: { unit: 's replayed', label: 'delay to flag a 2× latency regression at 1 call/s', better: 'lower' },
    stationary_false_alarms: { unit: 'anomalies', label: 'anomalies on a stationary 2 h replay at 1 call/s', better: 'lower' },
  },
  ratios: {
    throughput_on_vs_off: { numerator: 'qps_monitor_on', denominator: 'qps_monitor_off', label: 'throughput with monitoring / without', target: '≥ 0.99' },
  },
  async setup(context: BenchContext) {
    const rng = new Rng(1);
    const observations = Array.from({ length: 4096 }, (_, index): QueryObservation => ({
      fingerprint: `fingerprint-${index % 1000}` as Fingerprint,
      normalized: `SELECT * FROM t WHERE id = $${index % 1000}`,
      durationMs: lognormal(rng, 2, 0.8),
      rows: 1,
      failed: false,
      operation: 'SELECT',
      collection: 't',
      // The optimizer passes the end time it already measured, so the recorder reads no clock (set per sample in measure).
      at: REPLAY_START,
    }));
    const url = context.databaseUrl ?? DEFAULT_DATABASE_URL;
    // Monitoring cost on the executed path: the result cache is off on both sides.
    const monitored = await createOptimizer({ cache: { enabled: false }, database: { url, poolMax: 8 } });
    const unmonitored = await createOptimizer({ cache: { enabled: false }, database: { url, poolMax: 8 }, monitor: { enabled: false } });
    return { observations, monitored, unmonitored };
  },
  async measure(state, context, run) {
    const samples = context.quick ? 100_000 : 2_000_000;
    const warmup = context.quick ? 30_000 : 100_000;
    const count = state.observations.length;
    // Samples arrive in time order, SAMPLE_SPACING_MS apart (a service at 10,000 queries/s): the
    // windows rotate as they would in production, and no sample is replayed out of order.
    const timed = (offset: number) => (index: number) => {
      const observation = state.observations[index % count]!;
      observation.at = REPLAY_START + (offset + index) * SAMPLE_SPACING_MS;
      return observation;
    };
    const recorder = new QueryRecorder();
    const recorderWarm = timed(0);
    timePerCallMicrosSync(warmup, (index) => recorder.record(recorderWarm(index)));
    const recorderRun = timed(warmup);
    const recorderNs = nanosPerCall(samples, (index) => recorder.record(recorderRun(index)));
    const monitor = new PerformanceMonitor(loadConfig({}).monitor, { analyze: analyzeSql, alertIntervalMs: 0 });
    const monitorWarm = timed(0);
    timePerCallMicrosSync(warmup, (index) => monitor.record(monitorWarm(index)));
    const monitorRun = timed(warmup);
    const monitorNs = nanosPerCall(samples, (index) => monitor.record(monitorRun(index)));

    context.log('monitor: memory for 10,000 fingerprints');
    const memory = await memoryFor10kFingerprints(context.quick ? 1 : 10);

    context.log('monitor: throughput on vs off');
    // Blocks of a few hundred ms: long enough that scheduling hiccups average out inside a block,
    // short enough that the two blocks of a pair see the same machine (its load drifts over seconds).
    const perBlock = context.quick ? 1000 : 8000;
    await queriesPerSecond(state.monitored, context.quick ? 500 : 4000, 8);
    await queriesPerSecond(state.unmonitored, context.quick ? 500 : 4000, 8);
    const on: number[] = [];
    const off: number[] = [];
    const pairRatios: number[] = [];
    for (let pair = 0; pair < (context.quick ? 4 : THROUGHPUT_PAIRS); pair += 1) {
      let monitoredQps: number;
      let unmonitoredQps: number;
      if (pair % 2 === 0) {
        monitoredQps = await queriesPerSecond(state.monitored, perBlock, 8);
        unmonitoredQps = await queriesPerSecond(state.unmonitored, perBlock, 8);
      } else {
        unmonitoredQps = await queriesPerSecond(state.unmonitored, perBlock, 8);
        monitoredQps = await queriesPerSecond(state.monitored, perBlock, 8);
      }
      on.push(monitoredQps);
      off.push(unmonitoredQps);
      pairRatios.push(monitoredQps / unmonitoredQps);
    }
    const qpsOn = median(on);
    const qpsOff = median(off);

    const detection = detectionDelaySeconds(run);
    return {
      recorder_record_ns: recorderNs.wall,
      recorder_record_cpu_ns: recorderNs.cpu,
      monitor_record_ns: monitorNs.wall,
      monitor_record_cpu_ns: monitorNs.cpu,
      memory_10k_mb: memory.mb,
      memory_10k_first_read_mb: memory.firstReadingMb,
      memory_10k_estimated_mb: memory.estimatedMb,
      qps_monitor_on: qpsOn,
      qps_monitor_off: qpsOff,
      throughput_paired_ratio: median(pairRatios),
      // The 8 connections share one JS thread: if that thread were saturated, each query would lose monitor_record's CPU time (an upper bound).
      implied_loss_percent: (monitorNs.cpu / 1e9) * qpsOff * 100,
      detection_delay_s: detection.delay,
      stationary_false_alarms: detection.falseAlarms,
    };
  },
  async teardown(state) {
    await state.monitored.close();
    await state.unmonitored.close();
  },
};
