import { bindingsOf, bodyOf, columnOf, listOf, walk } from '../ast.js';
import type { AnalyzerRule } from '../rule.js';

/** `x NOT IN (SELECT col …)` where col may be NULL (or its nullability is unknown). */
export const notInNullableRule: AnalyzerRule = {
  id: 'not-in-nullable',
  severity: 'high',
  description: 'NOT IN over a nullable column',
  explanation: 'One NULL in the subquery makes NOT IN return no rows at all (x <> NULL is unknown), and PostgreSQL cannot plan NOT IN as an anti-join.',
  fix: 'Use NOT EXISTS (SELECT 1 FROM … WHERE col = x), or declare the column NOT NULL.',
  match({ ast, catalog }) {
    const matches = [];
    for (const node of walk(ast)) {
      if (node.type !== 'BoolExpr' || node.body.boolop !== 'NOT_EXPR') continue;
      const link = bodyOf(listOf(node.body, 'args')[0], 'SubLink');
      if (!link || link.subLinkType !== 'ANY_SUBLINK') continue;
      const sub = bodyOf(link.subselect, 'SelectStmt');
      const target = columnOf(bodyOf(listOf(sub, 'targetList')[0], 'ResTarget')?.val);
      if (!sub || !target) continue;
      const bindings = bindingsOf(listOf(sub, 'fromClause'));
      const table = target.qualifier ? bindings.get(target.qualifier) : [...bindings.values()][0];
      if (table && catalog.isNotNull(table, target.column)) continue;
      matches.push({ detail: `NOT IN (SELECT ${target.column} FROM ${table ?? '?'})${catalog.table(table ?? '') ? ' — the column is nullable' : ' — nullability unknown'}` });
    }
    return matches;
  },
};
