import { bindingsOf, functionName, listOf, walk } from '../ast.js';
import type { AnalyzerRule } from '../rule.js';

/** A table the planner estimates at this many rows or more counts as big. */
const BIG_TABLE_ROWS = 100_000;

/** Aggregates: a SELECT of only these returns one row however big the table. */
export const AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'jsonb_object_agg', 'json_object_agg']);

/** A top-level SELECT without LIMIT (or aggregation) over a big table. */
export const unboundedResultRule: AnalyzerRule = {
  id: 'unbounded-result',
  severity: 'medium',
  description: 'unbounded result (no LIMIT) over a big table',
  explanation: 'The whole matching set is built, sent and held in memory by the client; it grows with the table.',
  fix: 'Add LIMIT (with keyset pagination), aggregate on the server, or stream with a cursor.',
  match({ ast, catalog }) {
    const select = (ast).SelectStmt as Record<string, unknown> | undefined;
    if (!select || select.limitCount || listOf(select, 'groupClause').length > 0) return [];
    const aggregated = walk(select.targetList).some((node) => node.type === 'FuncCall' && AGGREGATES.has(functionName({ FuncCall: node.body }) ?? ''));
    if (aggregated) return [];
    const matches = [];
    for (const table of bindingsOf(listOf(select, 'fromClause')).values()) {
      const known = table ? catalog.table(table) : undefined;
      if (known && known.estimatedRows >= BIG_TABLE_ROWS) matches.push({ detail: `${known.name} (~${Math.round(known.estimatedRows)} rows) read without LIMIT` });
    }
    return matches;
  },
};
