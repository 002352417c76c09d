import { LogLinearHistogram } from './histogram.js';
import type { QueryObservation } from './recorder.js';

/** What regressed. */
export type AnomalyMetric = 'p95_latency' | 'error_rate';

/** A regression of one fingerprint against its own robust baseline. */
export interface Anomaly {
  fingerprint: string;
  normalized: string;
  metric: AnomalyMetric;
  /** Baseline value: median of past intervals (ms for latency, a fraction for error rate). */
  baseline: number;
  current: number;
  /** current / baseline. */
  ratio: number;
  /** 0.5 at the detection band, 1 at twice the band. */
  confidence: number;
  severity: 'medium' | 'high' | 'critical';
  /** Start of the interval that showed it (epoch ms). */
  intervalStart: number;
  /** When it was detected (the interval's end, epoch ms). */
  detectedAt: number;
  /** Set when a later interval came back within the band. */
  resolvedAt: number | null;
  description: string;
}

/** Options of the detector (the defaults suit one call per second and more). */
export interface AnomalyOptions {
  /** Length of one evaluated interval. */
  intervalMs?: number;
  /** An interval with fewer calls is neither judged nor added to the baseline. */
  minSamplesPerInterval?: number;
  /** Past intervals needed before anything is judged. */
  minHistory?: number;
  /** Past intervals the baseline remembers. */
  historyLength?: number;
  /** The band is this many robust standard deviations (1.4826 × MAD) of log p95 … */
  madMultiplier?: number;
  /** … but never narrower than this ratio (1.5 = +50 %). */
  minBandRatio?: number;
  /** Error-rate increase (absolute fraction) below which nothing is flagged. */
  minErrorRateIncrease?: number;
  /** Fingerprints followed at most (the rest are not judged). */
  maxFingerprints?: number;
}

interface IntervalSummary {
  logP95: number;
  errorRate: number;
}

interface FingerprintState {
  normalized: string;
  intervalStart: number;
  latency: LogLinearHistogram;
  calls: number;
  errors: number;
  history: IntervalSummary[];
  active: Map<AnomalyMetric, Anomaly>;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Flags per-fingerprint regressions of p95 latency and error rate. Each fingerprint's calls are cut
 * into fixed intervals (by the observation's own clock, so replayed traces work); an interval's
 * log p95 is compared with the median of past intervals, with a band of k × MAD that never gets
 * narrower than `minBandRatio` — median and MAD, because one past spike must not widen the band.
 */
export class AnomalyDetector {
  private readonly states = new Map<string, FingerprintState>();
  private readonly detected: Anomaly[] = [];
  private readonly options: Required<AnomalyOptions>;
  private readonly listeners = new Set<(anomaly: Anomaly) => void>();

  constructor(options: AnomalyOptions = {}) {
    this.options = {
      intervalMs: options.intervalMs ?? 60_000,
      minSamplesPerInterval: options.minSamplesPerInterval ?? 20,
      minHistory: options.minHistory ?? 10,
      historyLength: options.historyLength ?? 30,
      madMultiplier: options.madMultiplier ?? 4,
      minBandRatio: options.minBandRatio ?? 1.5,
      minErrorRateIncrease: options.minErrorRateIncrease ?? 0.05,
      maxFingerprints: options.maxFingerprints ?? 10_000,
    };
  }

  /** Adds one execution; closes (and judges) the fingerprint's interval when the clock passed its end. */
  observe(observation: QueryObservation): void {
    const at = observation.at ?? Date.now();
    let state = this.states.get(observation.fingerprint);
    if (!state) {
      if (this.states.size >= this.options.maxFingerprints) return;
      state = { normalized: observation.normalized, intervalStart: this.intervalStartOf(at), latency: new LogLinearHistogram(32), calls: 0, errors: 0, history: [], active: new Map() };
      this.states.set(observation.fingerprint, state);
    }
    if (at >= state.intervalStart + this.options.intervalMs) this.close(observation.fingerprint, state, at);
    state.latency.record(observation.durationMs);
    state.calls += 1;
    if (observation.failed) state.errors += 1;
  }

  /** Closes every interval that ended before `now` (the monitor calls this on its timer). */
  flush(now: number = Date.now()): void {
    for (const [fingerprint, state] of this.states) {
      if (now >= state.intervalStart + this.options.intervalMs) this.close(fingerprint, state, now);
    }
  }

  /** Called with every new anomaly. Returns the unsubscribe function. */
  onAnomaly(listener: (anomaly: Anomaly) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every anomaly detected (newest last), resolved ones included. */
  list(): Anomaly[] {
    return [...this.detected];
  }

  /** Anomalies not yet resolved. */
  active(): Anomaly[] {
    return this.detected.filter((anomaly) => anomaly.resolvedAt === null);
  }

  /** Forgets baselines and anomalies. */
  reset(): void {
    this.states.clear();
    this.detected.length = 0;
  }

  private intervalStartOf(at: number): number {
    return Math.floor(at / this.options.intervalMs) * this.options.intervalMs;
  }

  private close(fingerprint: string, state: FingerprintState, now: number): void {
    const end = state.intervalStart + this.options.intervalMs;
    if (state.calls >= this.options.minSamplesPerInterval) {
      const summary = { logP95: Math.log(Math.max(state.latency.quantile(0.95), 1e-6)), errorRate: state.errors / state.calls };
      if (state.history.length >= this.options.minHistory) this.judge(fingerprint, state, summary, end);
      state.history.push(summary);
      if (state.history.length > this.options.historyLength) state.history.shift();
    }
    state.intervalStart = this.intervalStartOf(now);
    state.latency = new LogLinearHistogram(32);
    state.calls = 0;
    state.errors = 0;
  }

  private judge(fingerprint: string, state: FingerprintState, summary: IntervalSummary, end: number): void {
    const logs = state.history.map((entry) => entry.logP95);
    const center = median(logs);
    const mad = median(logs.map((value) => Math.abs(value - center)));
    const band = Math.max(this.options.madMultiplier * 1.4826 * mad, Math.log(this.options.minBandRatio));
    const deviation = summary.logP95 - center;
    this.update(fingerprint, state, 'p95_latency', deviation > band, deviation / band, Math.exp(center), Math.exp(summary.logP95), end);

    const baseRate = median(state.history.map((entry) => entry.errorRate));
    const noise = 3 * Math.sqrt((Math.max(baseRate, 0.001) * (1 - baseRate)) / state.calls);
    const errorBand = Math.max(this.options.minErrorRateIncrease, noise);
    const increase = summary.errorRate - baseRate;
    this.update(fingerprint, state, 'error_rate', increase > errorBand && state.errors >= 3, increase / errorBand, baseRate, summary.errorRate, end);
  }

  private update(fingerprint: string, state: FingerprintState, metric: AnomalyMetric, regressed: boolean, bands: number, baseline: number, current: number, end: number): void {
    const open = state.active.get(metric);
    if (!regressed) {
      if (open) {
        open.resolvedAt = end;
        state.active.delete(metric);
      }
      return;
    }
    if (open) return;
    const ratio = baseline > 0 ? current / baseline : Number.POSITIVE_INFINITY;
    const confidence = Math.min(1, 0.5 + (bands - 1) / 2);
    const shown = (value: number): string => (metric === 'p95_latency' ? `${value.toFixed(2)} ms` : `${(value * 100).toFixed(1)} %`);
    const anomaly: Anomaly = {
      fingerprint,
      normalized: state.normalized,
      metric,
      baseline,
      current,
      ratio,
      confidence,
      severity: bands >= 3 ? 'critical' : bands >= 1.5 ? 'high' : 'medium',
      intervalStart: end - this.options.intervalMs,
      detectedAt: end,
      resolvedAt: null,
      description: `${metric === 'p95_latency' ? 'p95 latency' : 'error rate'} of "${state.normalized}" (${fingerprint}) is ${shown(current)} against a baseline of ${shown(baseline)} (${Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'from zero'}, confidence ${confidence.toFixed(2)})`,
    };
    state.active.set(metric, anomaly);
    this.detected.push(anomaly);
    if (this.detected.length > 1000) this.detected.shift();
    for (const listener of this.listeners) listener(anomaly);
  }
}
