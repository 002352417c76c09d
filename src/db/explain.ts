import type { DriverSession, ExplainOptions, ExplainResult, PlanNode } from './driver.js';

/** The EXPLAIN statement qopt sends for a query. */
export function explainStatement(sql: string, options: ExplainOptions = {}): string {
  const flags = ['FORMAT JSON'];
  if (options.analyze) flags.push('ANALYZE');
  if (options.analyze && options.buffers) flags.push('BUFFERS');
  if (options.analyze && options.timing === false) flags.push('TIMING OFF');
  return `EXPLAIN (${flags.join(', ')}) ${sql}`;
}

/** Parses the single row of `EXPLAIN (FORMAT JSON)` (text or already-decoded JSON). */
export function parseExplainOutput(value: unknown): ExplainResult {
  const decoded = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  const document = (Array.isArray(decoded) ? decoded[0] : decoded) as Record<string, unknown>;
  const { Plan, 'Planning Time': planning, 'Execution Time': execution, ...raw } = document;
  return {
    plan: Plan as PlanNode,
    planningTimeMs: typeof planning === 'number' ? planning : null,
    executionTimeMs: typeof execution === 'number' ? execution : null,
    raw,
  };
}

/** Runs EXPLAIN on a session that is already inside a transaction the caller will roll back. */
export async function explainOn(session: DriverSession, sql: string, params: readonly unknown[], options: ExplainOptions): Promise<ExplainResult> {
  const result = await session.query<Record<string, unknown>>(explainStatement(sql, options), params);
  const row = result.rows[0] ?? {};
  return parseExplainOutput(Object.values(row)[0]);
}

/** Walks a plan tree depth-first, parents before children. */
export function* planNodes(plan: PlanNode): Generator<PlanNode> {
  yield plan;
  for (const child of plan.Plans ?? []) yield* planNodes(child);
}
