import type { AdviceReport } from '../advise/advisor.js';
import { adviseRecordedWorkload } from '../advise/forOptimizer.js';
import { runHealthChecks } from '../advise/health/runHealth.js';
import type { HealthReport } from '../advise/health/runHealth.js';
import type { QueryReport } from '../analyze/queryAnalyzer.js';
import type { Optimizer } from '../optimizer.js';

/** A value and when it was computed. */
export interface Dated<T> {
  at: number;
  value: T;
}

/**
 * A slow-to-compute value (an advisor run, the health checks) recomputed at most once per
 * `maxAgeMs` and shared by everyone asking meanwhile: an endpoint polled by many clients starts one
 * computation, not one per request.
 */
export class SharedSnapshot<T> {
  private latest: Dated<T> | undefined;
  private running: Promise<Dated<T>> | undefined;

  constructor(
    private readonly maxAgeMs: number,
    private readonly compute: () => Promise<T>,
  ) {}

  /** The latest value, computed now when there is none, it is older than `maxAgeMs`, or `fresh` is asked. */
  get(fresh = false): Promise<Dated<T>> {
    if (!fresh && this.latest && Date.now() - this.latest.at < this.maxAgeMs) return Promise.resolve(this.latest);
    this.running ??= this.compute()
      .then((value) => (this.latest = { at: Date.now(), value }))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** The latest value without computing anything (null before the first computation). */
  peek(): Dated<T> | null {
    return this.latest ?? null;
  }
}

/** A proven rewrite that `POST /optimization/optimize-query` found, for the dashboard. */
export interface ProvenRewrite {
  at: number;
  fingerprint: string;
  sql: string;
  rewrittenSql: string;
  rules: string[];
  /** Planner cost before → after, and the improvement it predicts. */
  costBefore: number;
  costAfter: number;
  improvementPercent: number;
}

// Advisor runs plan every recorded query against hypothetical indexes: at most one a minute.
const RECOMMENDATIONS_MAX_AGE_MS = 60_000;
const HEALTH_MAX_AGE_MS = 30_000;
const PROVEN_REWRITES_KEPT = 50;

/**
 * What the service knows beyond the optimizer's own counters: the advisor's latest recommendations,
 * the latest health report and the rewrites proven through the API, shared by the endpoints and the
 * dashboard.
 */
export class ServiceInsights {
  readonly recommendations: SharedSnapshot<AdviceReport>;
  readonly health: SharedSnapshot<HealthReport>;
  private readonly proven: ProvenRewrite[] = [];

  constructor(qo: Optimizer) {
    this.recommendations = new SharedSnapshot(RECOMMENDATIONS_MAX_AGE_MS, () => adviseRecordedWorkload(qo));
    this.health = new SharedSnapshot(HEALTH_MAX_AGE_MS, () => runHealthChecks(qo.driver));
  }

  /** Keeps the best proven rewrite of an optimize-query report (newest first, bounded). */
  noteOptimization(report: QueryReport): void {
    const best = report.rewrites?.best;
    if (!best) return;
    this.proven.unshift({
      at: Date.now(),
      fingerprint: report.fingerprint,
      sql: report.sql,
      rewrittenSql: best.sql,
      rules: best.rules,
      costBefore: best.verdict.before.totalCost,
      costAfter: best.verdict.after.totalCost,
      improvementPercent: best.verdict.improvementPercent,
    });
    this.proven.length = Math.min(this.proven.length, PROVEN_REWRITES_KEPT);
  }

  /** Rewrites proven through the API, newest first. */
  provenRewrites(): readonly ProvenRewrite[] {
    return this.proven;
  }
}
