import { bindingsOf, bodyOf, columnRefParts, listOf, selectsOf } from '../ast.js';
import type { AnalyzerRule } from '../rule.js';

/** A table with at least this many columns counts as wide. */
const WIDE_TABLE_COLUMNS = 8;

/** `SELECT *` (or `t.*`) over a wide table. */
export const selectStarRule: AnalyzerRule = {
  id: 'select-star',
  severity: 'low',
  description: 'SELECT * on a wide table',
  explanation: 'Every column is read, decoded and sent, including wide ones (jsonb, text) the caller ignores; it also rules out index-only scans.',
  fix: 'List the columns the caller uses.',
  match({ ast, catalog }) {
    const matches = [];
    for (const select of selectsOf(ast)) {
      const bindings = bindingsOf(listOf(select, 'fromClause'));
      for (const target of listOf(select, 'targetList')) {
        const parts = columnRefParts(bodyOf(target, 'ResTarget')?.val);
        if (!parts || parts[parts.length - 1] !== '*') continue;
        const qualifier = parts.length > 1 ? parts[parts.length - 2]! : null;
        const tables = qualifier ? [bindings.get(qualifier)] : [...bindings.values()];
        for (const table of tables) {
          const known = table ? catalog.table(table) : undefined;
          // Without the catalog the width is unknown: say so rather than stay silent.
          if (!known && table) matches.push({ detail: `${qualifier ?? ''}${qualifier ? '.' : ''}* over ${table} (width unknown without a database)` });
          else if (known && known.columns.length >= WIDE_TABLE_COLUMNS) matches.push({ detail: `* over ${known.name} (${known.columns.length} columns)` });
        }
      }
    }
    return matches;
  },
};
