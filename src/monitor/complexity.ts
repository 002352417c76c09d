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
 * A complexity score per query: joins, CTEs, window functions, subqueries, filters, sorts and
 * grouping from the parse tree; with a plan, log10 of the estimated rows plus large sequential
 * scans and sorts. Below 5 is low, below 12 medium, above high.
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
    const estimated = plan['Plan Rows'];
    factors.push({ factor: 'estimated rows (log10)', count: estimated, points: Math.log10(estimated + 1) });
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
  return { score, level: score < 5 ? 'low' : score < 12 ? 'medium' : 'high', factors };
}
