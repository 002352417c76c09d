import { bodyOf, columnOf, listOf, selectsOf, walkScope } from '../ast.js';
import type { AnalyzerRule } from '../rule.js';

/** The columns compared in one OR arm (a simple comparison), or undefined. */
function armColumn(arm: unknown): string | undefined {
  const expr = bodyOf(arm, 'A_Expr');
  const column = columnOf(expr?.lexpr) ?? columnOf(expr?.rexpr);
  if (column) return `${column.qualifier ?? ''}.${column.column}`;
  const test = bodyOf(arm, 'NullTest');
  const tested = columnOf(test?.arg);
  return tested ? `${tested.qualifier ?? ''}.${tested.column}` : undefined;
}

/** `WHERE a = 1 OR b = 2`: an OR whose arms filter different columns. */
export const orAcrossColumnsRule: AnalyzerRule = {
  id: 'or-across-columns',
  severity: 'medium',
  description: 'OR across different columns',
  explanation: 'One index cannot serve both arms; the planner needs a BitmapOr of two indexes or scans everything.',
  fix: 'Index each column and check for a BitmapOr, or split into UNION (ALL, with care for duplicates) of two indexed queries.',
  match({ ast }) {
    const matches = [];
    for (const select of selectsOf(ast)) {
      for (const node of walkScope(select.whereClause)) {
        if (node.type !== 'BoolExpr' || node.body.boolop !== 'OR_EXPR') continue;
        const columns = listOf(node.body, 'args').map(armColumn);
        if (columns.some((column) => column === undefined)) continue;
        const distinct = new Set(columns);
        if (distinct.size > 1) matches.push({ detail: `OR over ${[...distinct].map((column) => column!.replace(/^\./, '')).join(', ')}` });
      }
    }
    return matches;
  },
};
