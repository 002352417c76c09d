import type { Registry } from 'prom-client';
import type { QoptConfig } from '../config.js';
import type { ExplainResult } from '../db/driver.js';
import type { SqlAnalysis } from '../sql/analyze.js';
import { AlertManager, defaultAlertRules } from './alerts.js';
import type { AlertEvent } from './alerts.js';
import { AnomalyDetector } from './anomaly.js';
import type { AnomalyOptions } from './anomaly.js';
import { ComplexityScores } from './complexity.js';
import type { ComplexityScore } from './complexity.js';
import { NPlusOneDetector } from './nPlusOne.js';
import { createMetricsRegistry } from './prometheus.js';
import type { PoolStatistics } from './prometheus.js';
import { OTHER_FINGERPRINT, QueryRecorder } from './recorder.js';
import type { FingerprintStats, QueryObservation, WindowMinutes } from './recorder.js';
import { RequestContextStore } from './requestContext.js';
import type { RequestContext } from './requestContext.js';
import { SlowQueryLog } from './slowLog.js';

/** What the monitor needs from the rest of the pipeline. */
export interface PerformanceMonitorDependencies {
  /** The memoized SQL analyzer (N+1 batching). */
  analyze: (sql: string) => SqlAnalysis;
  /** EXPLAIN without ANALYZE, for the slow log's sampled plans. */
  explain?: (sql: string, params: readonly unknown[]) => Promise<ExplainResult>;
  /** The connection pool, for pool metrics. */
  pool?: PoolStatistics;
  /** Overrides the anomaly detector's defaults. */
  anomaly?: AnomalyOptions;
  /** Where alert events are logged (default: one line on stderr). */
  alertLog?: (event: AlertEvent) => void;
  /** How often alert rules are evaluated; 0 = only when `alerts.evaluate()` is called. */
  alertIntervalMs?: number;
}

/** A fingerprint's statistics with its complexity score (null for `other` or a text that does not analyze). */
export type QueryStats = FingerprintStats & { complexity: ComplexityScore | null };

/** Default evaluation period of alert rules ("every few seconds"). */
export const DEFAULT_ALERT_INTERVAL_MS = 5000;

/**
 * The performance monitor: recorder, slow-query log, N+1 detector, anomaly detector, alert rules
 * and Prometheus exposition, fed by one `record` call per execution.
 */
export class PerformanceMonitor {
  readonly recorder: QueryRecorder;
  readonly slowLog: SlowQueryLog;
  readonly nPlusOne: NPlusOneDetector;
  readonly anomalies: AnomalyDetector;
  readonly alerts: AlertManager;
  readonly contexts = new RequestContextStore();
  /** Complexity scores per fingerprint, shared by the slow log and `stats()`; computed once each, never in `record`. */
  readonly complexity: ComplexityScores;
  private registry: Registry | undefined;
  private readonly anomalyDetection: boolean;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    config: QoptConfig['monitor'],
    private readonly dependencies: PerformanceMonitorDependencies,
  ) {
    this.recorder = new QueryRecorder({ maxFingerprints: config.maxFingerprints, slowThresholdMs: config.slowQueryThresholdMs });
    this.complexity = new ComplexityScores(dependencies.analyze, config.maxFingerprints);
    this.slowLog = new SlowQueryLog({ thresholdMs: config.slowQueryThresholdMs, logParameters: config.logParameters, explain: dependencies.explain, complexity: this.complexity });
    this.nPlusOne = new NPlusOneDetector({ threshold: config.nPlusOneThreshold, analyze: dependencies.analyze });
    this.anomalies = new AnomalyDetector({ maxFingerprints: config.maxFingerprints, ...dependencies.anomaly });
    this.anomalyDetection = config.anomalyDetection;
    this.alerts = new AlertManager(this.recorder, {
      log: dependencies.alertLog ?? ((event) => process.stderr.write(`qopt alert: ${event.message}\n`)),
      webhookUrl: config.alertWebhookUrl,
    });
    for (const rule of defaultAlertRules(config.alertThresholds)) this.alerts.addRule(rule);
    const interval = dependencies.alertIntervalMs ?? DEFAULT_ALERT_INTERVAL_MS;
    if (interval > 0) {
      this.timer = setInterval(() => {
        this.maintain();
        this.alerts.evaluate();
      }, interval);
      // Monitoring must never keep a process alive.
      this.timer.unref();
    }
  }

  /**
   * Records one execution into every part of the monitor. `context` is the request context the
   * statement started in: a caller reporting from a driver callback passes the one it captured when
   * the statement began (the callback runs in the connection's async context, not the caller's).
   */
  record(observation: QueryObservation, context: RequestContext | undefined = this.contexts.current()): void {
    if (context && observation.context === undefined) observation.context = context.name;
    this.recorder.record(observation);
    if (observation.durationMs > this.slowLog.thresholdMs) this.slowLog.observe(observation);
    if (context !== undefined || observation.connection !== undefined) this.nPlusOne.observe(observation, context);
    if (this.anomalyDetection) this.anomalies.observe(observation);
  }

  /**
   * Per-fingerprint statistics (cumulative, or over a rolling window) with each fingerprint's
   * complexity score, by total time. A score is computed from the normalized text the first time
   * its fingerprint is listed (with the plan once the slow log sampled one), then reused.
   */
  stats(minutes?: WindowMinutes, now?: number): QueryStats[] {
    const stats = minutes === undefined ? this.recorder.snapshot() : this.recorder.window(minutes, now);
    return stats.map((entry) => ({ ...entry, complexity: this.complexityOf(entry) }));
  }

  /** The request context the caller runs in (`withContext`), if any. */
  currentContext(): RequestContext | undefined {
    return this.contexts.current();
  }

  /** Runs `work` as one request named `name`: the N+1 detector counts repetitions inside it. */
  withContext<T>(name: string, work: () => T): T {
    return this.contexts.run(name, work);
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.metricsRegistry().metrics();
  }

  /** The content type to serve `metrics()` with. */
  get metricsContentType(): string {
    return this.metricsRegistry().contentType;
  }

  /** Closes finished anomaly intervals and folds idle fingerprints into `other` (run periodically). */
  maintain(now: number = Date.now()): void {
    this.anomalies.flush(now);
    this.recorder.compact(now);
  }

  /** Stops timers and waits for webhook deliveries and sampled EXPLAINs in flight. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.alerts.stop();
    await this.slowLog.settle();
  }

  private complexityOf(stats: FingerprintStats): ComplexityScore | null {
    if (stats.fingerprint === OTHER_FINGERPRINT) return null;
    return this.complexity.of(stats.fingerprint, stats.normalized);
  }

  private metricsRegistry(): Registry {
    this.registry ??= createMetricsRegistry({
      recorder: this.recorder,
      slowLog: this.slowLog,
      nPlusOne: this.nPlusOne,
      anomalies: this.anomalies,
      alerts: this.alerts,
      pool: this.dependencies.pool,
    });
    return this.registry;
  }
}
