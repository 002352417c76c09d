import { bindingsOf, bodyOf, columnOf, listOf, selectsOf, walk } from '../ast.js';
import type { AnalyzerRule, RuleMatch } from '../rule.js';

/** True when the subquery refers to an alias bound by the outer query but not by itself. */
export function isCorrelated(subquery: Record<string, unknown>, outerAliases: ReadonlySet<string>): boolean {
  const own = new Set<string>();
  for (const select of selectsOf({ SelectStmt: subquery })) for (const alias of bindingsOf(listOf(select, 'fromClause')).keys()) own.add(alias);
  for (const node of walk(subquery)) {
    if (node.type !== 'ColumnRef') continue;
    const column = columnOf({ ColumnRef: node.body });
    if (column?.qualifier && outerAliases.has(column.qualifier) && !own.has(column.qualifier)) return true;
  }
  return false;
}

/** A scalar subquery in the SELECT list that refers to the outer row: it runs once per row. */
export const correlatedSubqueryRule: AnalyzerRule = {
  id: 'correlated-subquery',
  severity: 'medium',
  description: 'correlated subquery per row',
  explanation: 'A scalar subquery in the SELECT list that reads the outer row runs once per output row (a nested loop the planner cannot turn into a join).',
  fix: 'Join (LEFT JOIN the table, or a pre-aggregated derived table) instead; qopt rewrites it when the join key is unique.',
  match({ ast }) {
    const matches: RuleMatch[] = [];
    for (const select of selectsOf(ast)) {
      const outer = new Set(bindingsOf(listOf(select, 'fromClause')).keys());
      for (const target of listOf(select, 'targetList')) {
        const link = bodyOf(bodyOf(target, 'ResTarget')?.val, 'SubLink');
        const sub = bodyOf(link?.subselect, 'SelectStmt');
        if (link?.subLinkType === 'EXPR_SUBLINK' && sub && isCorrelated(sub, outer)) {
          const name = bodyOf(target, 'ResTarget')?.name;
          matches.push({ detail: `scalar subquery${name ? ` "${String(name)}"` : ''} in the SELECT list reads the outer row` });
        }
      }
    }
    return matches;
  },
};
