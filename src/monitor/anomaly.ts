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
  /** current / baseline; null when the baseline is 0 (an error rate rising from none). */
  ratio: number | null;
  /** 0.5 at the detection band, 1 at twice the band. */
  confidence: number;
  severity: 'medium' | 'high' | 'critical';
  /** Start of the interval that showed it (epoch ms). */
  intervalStart: number;
  /** When it was detected (the interval's end, epoch ms). */
  detectedAt: number;
  /** Set when a later interval came back within the band, or when the shift was accepted as the new normal. */
  resolvedAt: number | null;
  /**
   * 'recovered': an interval came back within the band; 'accepted as new normal': the regression
   * lasted `acceptShiftAfterMs` and its intervals became the baseline. Null while active.
   */
  resolution: 'recovered' | 'accepted as new normal' | null;
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
  /**
   * An anomaly still active after this long (default 4 h) is a lasting shift: it is resolved as
   * 'accepted as new normal' and its intervals become the baseline.
   */
  acceptShiftAfterMs?: number;
}

/**
 * One metric's past intervals. Intervals judged regressed stay out of the baseline while the
 * anomaly lasts (else the median drifts up to the regression and "resolves" it); they are held
 * apart, and become the baseline if the shift is accepted as the new normal.
 */
interface MetricHistory {
  baseline: number[];
  held: number[];
}

interface FingerprintState {
  normalized: string;
  intervalStart: number;
  latency: LogLinearHistogram;
  calls: number;
  errors: number;
  /** Intervals summarized so far (judged or not): nothing is judged before `minHistory`. */
  intervals: number;
  history: Record<AnomalyMetric, MetricHistory>;
  active: Map<AnomalyMetric, Anomaly>;
}

/** What one judged interval said about one metric. */
interface Judgement {
  regressed: boolean;
  bands: number;
  baseline: number;
  current: number;
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
      acceptShiftAfterMs: options.acceptShiftAfterMs ?? 4 * 3_600_000,
    };
  }

  /** Adds one execution; closes (and judges) the fingerprint's interval when the clock passed its end. */
  observe(observation: QueryObservation): void {
    const at = observation.at ?? Date.now();
    let state = this.states.get(observation.fingerprint);
    if (!state) {
      if (this.states.size >= this.options.maxFingerprints) return;
      state = {
        normalized: observation.normalized,
        intervalStart: this.intervalStartOf(at),
        latency: new LogLinearHistogram(32),
        calls: 0,
        errors: 0,
        intervals: 0,
        history: { p95_latency: { baseline: [], held: [] }, error_rate: { baseline: [], held: [] } },
        active: new Map(),
      };
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
      const logP95 = Math.log(Math.max(state.latency.quantile(0.95), 1e-6));
      const errorRate = state.errors / state.calls;
      if (state.intervals >= this.options.minHistory) {
        this.settle(fingerprint, state, 'p95_latency', logP95, this.judgeLatency(state, logP95), end);
        this.settle(fingerprint, state, 'error_rate', errorRate, this.judgeErrorRate(state, errorRate), end);
      } else {
        this.remember(state.history.p95_latency.baseline, logP95);
        this.remember(state.history.error_rate.baseline, errorRate);
      }
      state.intervals += 1;
    }
    state.intervalStart = this.intervalStartOf(now);
    state.latency = new LogLinearHistogram(32);
    state.calls = 0;
    state.errors = 0;
  }

  private remember(values: number[], value: number): void {
    values.push(value);
    if (values.length > this.options.historyLength) values.shift();
  }

  private judgeLatency(state: FingerprintState, logP95: number): Judgement {
    const logs = state.history.p95_latency.baseline;
    const center = median(logs);
    const mad = median(logs.map((value) => Math.abs(value - center)));
    const band = Math.max(this.options.madMultiplier * 1.4826 * mad, Math.log(this.options.minBandRatio));
    const deviation = logP95 - center;
    return { regressed: deviation > band, bands: deviation / band, baseline: Math.exp(center), current: Math.exp(logP95) };
  }

  private judgeErrorRate(state: FingerprintState, errorRate: number): Judgement {
    const baseRate = median(state.history.error_rate.baseline);
    const noise = 3 * Math.sqrt((Math.max(baseRate, 0.001) * (1 - baseRate)) / state.calls);
    const errorBand = Math.max(this.options.minErrorRateIncrease, noise);
    const increase = errorRate - baseRate;
    return { regressed: increase > errorBand && state.errors >= 3, bands: increase / errorBand, baseline: baseRate, current: errorRate };
  }

  /** Opens, keeps or resolves the metric's anomaly, and files the interval's value in the baseline or among the held ones. */
  private settle(fingerprint: string, state: FingerprintState, metric: AnomalyMetric, value: number, judgement: Judgement, end: number): void {
    const history = state.history[metric];
    const open = state.active.get(metric);
    if (!judgement.regressed) {
      if (open) {
        open.resolvedAt = end;
        open.resolution = 'recovered';
        state.active.delete(metric);
      }
      history.held = [];
      this.remember(history.baseline, value);
      return;
    }
    this.remember(history.held, value);
    if (!open) {
      this.open(fingerprint, state, metric, judgement, end);
      return;
    }
    if (end - open.detectedAt < this.options.acceptShiftAfterMs) return;
    // A regression this long is how the query runs now: the held intervals become its baseline.
    open.resolvedAt = end;
    open.resolution = 'accepted as new normal';
    open.description += `; still so after ${((end - open.detectedAt) / 3_600_000).toFixed(1)} h, accepted as the new normal`;
    state.active.delete(metric);
    history.baseline = history.held;
    history.held = [];
  }

  private open(fingerprint: string, state: FingerprintState, metric: AnomalyMetric, judgement: Judgement, end: number): void {
    const { bands, baseline, current } = judgement;
    const ratio = baseline > 0 ? current / baseline : null;
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
      resolution: null,
      description: `${metric === 'p95_latency' ? 'p95 latency' : 'error rate'} of "${state.normalized}" (${fingerprint}) is ${shown(current)} against a baseline of ${shown(baseline)} (${ratio !== null ? `${ratio.toFixed(2)}×` : 'from zero'}, confidence ${confidence.toFixed(2)})`,
    };
    state.active.set(metric, anomaly);
    this.detected.push(anomaly);
    if (this.detected.length > 1000) this.detected.shift();
    for (const listener of this.listeners) listener(anomaly);
  }
}
