import type { ExplainResult } from '../db/driver.js';

/** The planner's view of a statement, and what it measured when ANALYZE ran. */
export interface CostEstimate {
  totalCost: number;
  startupCost: number;
  estimatedRows: number;
  actualRows: number | null;
  planningTimeMs: number | null;
  executionTimeMs: number | null;
}

/** The cost estimate of an EXPLAIN result. */
export function costEstimate(explain: ExplainResult): CostEstimate {
  return {
    totalCost: explain.plan['Total Cost'],
    startupCost: explain.plan['Startup Cost'],
    estimatedRows: explain.plan['Plan Rows'],
    actualRows: explain.plan['Actual Rows'] ?? null,
    planningTimeMs: explain.planningTimeMs,
    executionTimeMs: explain.executionTimeMs,
  };
}

/** The seed's "estimated improvement percent": how much of the original's planner cost the rewrite saves (negative when it costs more). */
export function improvementPercent(before: CostEstimate, after: CostEstimate): number {
  if (before.totalCost <= 0) return 0;
  return Math.round(((before.totalCost - after.totalCost) / before.totalCost) * 1000) / 10;
}
