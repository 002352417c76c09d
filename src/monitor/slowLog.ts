import type { ExplainResult } from '../db/driver.js';
import type { ComplexityScore, ComplexityScores } from './complexity.js';
import type { QueryObservation } from './recorder.js';

/** One execution over the slow-query threshold. */
export interface SlowQueryEntry {
  fingerprint: string;
  normalized: string;
  /** When it finished (epoch ms). */
  at: number;
  durationMs: number;
  rows: number;
  failed: boolean;
  route: string | null;
  retries: number;
  context: string | null;
  /** Bound parameters, or `<redacted:type>` placeholders unless parameter logging is on. */
  params: unknown[];
  /** The plan, sampled the first time this fingerprint was slow (filled in asynchronously). */
  explain: SlowQueryPlan | null;
  /**
   * The statement's complexity score (one per fingerprint): from its parse tree, and from its plan
   * too once the fingerprint's plan was sampled (`complexity.fromPlan`); null when the monitor has
   * no analyzer or the text does not analyze.
   */
  complexity: ComplexityScore | null;
}

/** The EXPLAIN (no ANALYZE) taken for a fingerprint's first slow execution. */
export interface SlowQueryPlan {
  nodeType: string;
  totalCost: number;
  planRows: number;
  plan: ExplainResult['plan'];
}

/** Options of the slow log. */
export interface SlowLogOptions {
  thresholdMs: number;
  /** Keep the parameters' values (off by default: they may hold personal data). */
  logParameters?: boolean;
  /** Entries kept (oldest dropped first). */
  capacity?: number;
  /** Runs EXPLAIN (without ANALYZE: never re-executes the statement); omitted → no plans. */
  explain?: (sql: string, params: readonly unknown[]) => Promise<ExplainResult>;
  /** The per-fingerprint complexity scores to attach to entries; omitted → `complexity: null`. */
  complexity?: ComplexityScores;
}

/** A parameter replaced by its type, so the log shows the shape of a call without its data. */
export function redactParameter(value: unknown): string {
  if (value === null) return '<redacted:null>';
  if (Array.isArray(value)) return `<redacted:array(${value.length})>`;
  if (value instanceof Date) return '<redacted:date>';
  if (Buffer.isBuffer(value)) return `<redacted:bytes(${value.length})>`;
  return `<redacted:${typeof value}>`;
}

/** Plan fields whose text can quote a bound parameter's value (`(ssn = '123'::text)`). */
const PLAN_TEXT_FIELDS = /Cond|Filter|Key|Output|Sort/;

/** A copy of a plan with every literal in its condition texts replaced by `?`, so a redacted log stays redacted. */
export function redactPlan<T>(node: T): T {
  if (Array.isArray(node)) return node.map((child: unknown) => redactPlan(child)) as T;
  if (node === null || typeof node !== 'object') return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (PLAN_TEXT_FIELDS.test(key) && typeof value === 'string') copy[key] = redactPlanText(value);
    else if (PLAN_TEXT_FIELDS.test(key) && Array.isArray(value)) copy[key] = value.map((item) => (typeof item === 'string' ? redactPlanText(item) : redactPlan(item)));
    else copy[key] = redactPlan(value);
  }
  return copy as T;
}

function redactPlanText(text: string): string {
  return text.replace(/'(?:[^']|'')*'/g, "'?'").replace(/(?<![\w$.])-?\d+(?:\.\d+)?(?![\w.])/g, '?');
}

/** Fingerprints remembered as already explained. */
const MAX_EXPLAINED_FINGERPRINTS = 10_000;

/** Individual slow executions, newest last, with parameters redacted and a sampled plan per fingerprint. */
export class SlowQueryLog {
  private readonly entries: SlowQueryEntry[] = [];
  private readonly explained = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private readonly capacity: number;
  /** EXPLAINs that failed (the entry keeps `explain: null`). */
  explainFailures = 0;

  constructor(private readonly options: SlowLogOptions) {
    this.capacity = options.capacity ?? 1000;
  }

  /** The threshold in ms. */
  get thresholdMs(): number {
    return this.options.thresholdMs;
  }

  /** Adds the execution if it was slow; returns the entry or null. */
  observe(observation: QueryObservation): SlowQueryEntry | null {
    if (observation.durationMs <= this.options.thresholdMs) return null;
    const params = [...(observation.params ?? [])];
    const entry: SlowQueryEntry = {
      fingerprint: observation.fingerprint,
      normalized: observation.normalized,
      at: observation.at ?? Date.now(),
      durationMs: observation.durationMs,
      rows: observation.rows,
      failed: observation.failed,
      route: observation.route ?? null,
      retries: observation.retries ?? 0,
      context: observation.context ?? null,
      params: this.options.logParameters ? params : params.map(redactParameter),
      explain: null,
      complexity: this.options.complexity?.of(observation.fingerprint, observation.sql ?? observation.normalized) ?? null,
    };
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
    this.sampleExplain(entry, observation.sql, params, this.options.logParameters === true);
    return entry;
  }

  /** Slow executions, newest first, optionally only those at or after `since`. */
  list(options: { limit?: number; since?: number } = {}): SlowQueryEntry[] {
    const since = options.since ?? 0;
    return this.entries.filter((entry) => entry.at >= since).reverse().slice(0, options.limit ?? this.capacity);
  }

  /** Waits for EXPLAINs in flight (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Forgets every entry. */
  reset(): void {
    this.entries.length = 0;
    this.explained.clear();
  }

  private sampleExplain(entry: SlowQueryEntry, sql: string | undefined, params: unknown[], keepValues: boolean): void {
    const explain = this.options.explain;
    if (!explain || !sql || this.explained.has(entry.fingerprint)) return;
    // Only the first slow execution of a fingerprint pays for a plan: EXPLAIN is a round trip. The set is
    // bounded like the recorder's table: past it the oldest fingerprint may be explained once more.
    if (this.explained.size >= MAX_EXPLAINED_FINGERPRINTS) this.explained.delete(this.explained.values().next().value!);
    this.explained.add(entry.fingerprint);
    const work = explain(sql, params)
      .then((result) => {
        const plan = keepValues ? result.plan : redactPlan(result.plan);
        entry.explain = { nodeType: plan['Node Type'], totalCost: plan['Total Cost'], planRows: plan['Plan Rows'], plan };
        // Later slow entries of this fingerprint get the plan-aware score from the shared cache.
        entry.complexity = this.options.complexity?.withPlan(entry.fingerprint, sql, result.plan) ?? null;
      })
      .catch(() => {
        this.explainFailures += 1;
      });
    const tracked = work.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
