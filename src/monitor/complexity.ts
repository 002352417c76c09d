import type { PlanNode } from '../db/driver.js';
import type { SqlAnalysis } from '../sql/analyze.js';

/** One contribution to a complexity score. */
export interface ComplexityFactor {
  factor: string;
  count: number;
  points: number;
}

/** How complex a statement is, from its parse tree and (when given) its plan. */
export interface ComplexityScore {
  score: number;
  level: 'low' | 'medium' | 'high';
  factors: ComplexityFactor[];
  /** True when a plan's factors are counted too (false: the parse tree alone). */
  fromPlan: boolean;
}

/** Points per occurrence of each parse-tree feature (the sheets plan's filters, sorts, grouping, joins). */
const WEIGHTS = {
  join: 2,
  cte: 1.5,
  windowFunction: 2,
  subquery: 2,
  predicate: 0.5,
  orderKey: 1,
  groupKey: 1.5,
  function: 0.25,
  unboundedRead: 1,
  seqScanLargeTable: 2,
  sortNode: 1,
} as const;

/** Rows above which a sequential scan in the plan adds points. */
const LARGE_SCAN_ROWS = 10_000;

function walk(node: PlanNode, visit: (node: PlanNode) => void): void {
  visit(node);
  for (const child of node.Plans ?? []) walk(child, visit);
}

/**
 * The largest row estimate of any node of the plan. The root's estimate says how many rows come
 * out, not how many are worked through: an aggregate over a million-row scan estimates one row.
 * The largest node is the size of the biggest intermediate result, which a sum over scans would
 * overstate for a nested loop's inner side (estimated per loop, counted once per node here).
 */
export function largestEstimatedRows(plan: PlanNode): number {
  let largest = 0;
  walk(plan, (node) => {
    if (node['Plan Rows'] > largest) largest = node['Plan Rows'];
  });
  return largest;
}

/**
 * A complexity score per query: joins, CTEs, window functions, subqueries, filters, sorts and
 * grouping from the parse tree; with a plan, log10 of the largest estimated row count of any plan
 * node (`largestEstimatedRows`) plus large sequential scans and sorts. Below 5 is low, below 12
 * medium, above high.
 */
export function complexityScore(analysis: SqlAnalysis, plan?: PlanNode): ComplexityScore {
  const factors: ComplexityFactor[] = [];
  const add = (factor: string, count: number, weight: number): void => {
    if (count > 0) factors.push({ factor, count, points: count * weight });
  };
  for (const statement of analysis.statements) {
    add('joins', statement.joinCount, WEIGHTS.join);
    add('CTEs', statement.ctes, WEIGHTS.cte);
    add('window functions', statement.windowFunctions, WEIGHTS.windowFunction);
    add('subqueries', statement.subqueries, WEIGHTS.subquery);
    add('filter predicates', statement.predicates.length, WEIGHTS.predicate);
    add('sort keys', statement.orderBy.length, WEIGHTS.orderKey);
    add('group keys', statement.groupBy.length, WEIGHTS.groupKey);
    add('function calls', statement.functions.length, WEIGHTS.function);
    if (statement.kind === 'read' && statement.limit === null && statement.groupBy.length === 0) add('read without LIMIT', 1, WEIGHTS.unboundedRead);
  }
  if (plan) {
    const estimated = largestEstimatedRows(plan);
    factors.push({ factor: 'largest estimated rows (log10)', count: estimated, points: Math.log10(estimated + 1) });
    let largeScans = 0;
    let sorts = 0;
    walk(plan, (node) => {
      if (node['Node Type'] === 'Seq Scan' && node['Plan Rows'] > LARGE_SCAN_ROWS) largeScans += 1;
      if (node['Node Type'] === 'Sort') sorts += 1;
    });
    add('sequential scans over 10k rows', largeScans, WEIGHTS.seqScanLargeTable);
    add('sort nodes', sorts, WEIGHTS.sortNode);
  }
  const score = Math.round(factors.reduce((sum, factor) => sum + factor.points, 0) * 100) / 100;
  return { score, level: score < 5 ? 'low' : score < 12 ? 'medium' : 'high', factors, fromPlan: plan !== undefined };
}

/** Scores kept by default: as many as the recorder's default fingerprints. */
const DEFAULT_SCORES_KEPT = 10_000;

/**
 * Complexity scores per fingerprint, each computed once, when first asked for (the slow log, the
 * monitor's stats), never per execution. A score with a sampled plan replaces the parse-tree one.
 * Bounded: past `capacity` the oldest score is dropped (it is computed again if asked for).
 */
export class ComplexityScores {
  private readonly scores = new Map<string, ComplexityScore | null>();
  /** SQL texts that did not analyze (their score is null). */
  analysisFailures = 0;

  constructor(
    private readonly analyze: (sql: string) => SqlAnalysis,
    private readonly capacity = DEFAULT_SCORES_KEPT,
  ) {}

  /** The fingerprint's score, computed from `sql` the first time; null when `sql` does not analyze. */
  of(fingerprint: string, sql: string): ComplexityScore | null {
    const known = this.scores.get(fingerprint);
    if (known !== undefined) return known;
    const analysis = this.analysisOf(sql);
    return this.keep(fingerprint, analysis ? complexityScore(analysis) : null);
  }

  /** Scores the fingerprint again with `plan` (an EXPLAIN of `sql`) and keeps that score. */
  withPlan(fingerprint: string, sql: string, plan: PlanNode): ComplexityScore | null {
    const analysis = this.analysisOf(sql);
    return analysis ? this.keep(fingerprint, complexityScore(analysis, plan)) : this.of(fingerprint, sql);
  }

  /** Forgets every score. */
  clear(): void {
    this.scores.clear();
  }

  private analysisOf(sql: string): SqlAnalysis | undefined {
    try {
      return this.analyze(sql);
    } catch {
      this.analysisFailures += 1;
      return undefined;
    }
  }

  private keep(fingerprint: string, score: ComplexityScore | null): ComplexityScore | null {
    this.scores.delete(fingerprint);
    this.scores.set(fingerprint, score);
    if (this.scores.size > this.capacity) this.scores.delete(this.scores.keys().next().value!);
    return score;
  }
}
