import { bodyOf, columnOf, conjuncts, listOf, operatorOf, selectsOf } from '../ast.js';
import type { AstNode } from '../../sql/parser.js';
import type { AnalyzerRule, RuleMatch } from '../rule.js';

/** One inner join of a relation whose ON condition ties it to an outer column. */
export interface FilterJoin {
  join: AstNode;
  alias: string;
  relation: string;
  /** `alias.column = outerAlias.outerColumn`, as text, the same for every join of a self-join-per-filter group. */
  link: string;
}

/** The inner joins of a FROM item, left-deep, whose right side is a plain relation (table or CTE). */
export function filterJoins(fromItem: unknown): FilterJoin[] {
  const joins: FilterJoin[] = [];
  let current = bodyOf(fromItem, 'JoinExpr');
  while (current) {
    const right = bodyOf(current.rarg, 'RangeVar');
    if (current.jointype === 'JOIN_INNER' && right && current.quals) {
      const alias = String((right.alias as AstNode | undefined)?.aliasname ?? right.relname);
      for (const part of conjuncts(current.quals)) {
        const expr = bodyOf(part, 'A_Expr');
        if (expr?.kind !== 'AEXPR_OP' || operatorOf(expr) !== '=') continue;
        const left = columnOf(expr.lexpr);
        const other = columnOf(expr.rexpr);
        if (!left || !other) continue;
        const [mine, theirs] = left.qualifier === alias ? [left, other] : other.qualifier === alias ? [other, left] : [undefined, undefined];
        if (mine && theirs?.qualifier && theirs.qualifier !== alias) {
          joins.push({ join: current, alias, relation: String(right.relname), link: `${mine.column}=${theirs.qualifier}.${theirs.column}` });
          break;
        }
      }
    }
    current = bodyOf(current.larg, 'JoinExpr');
  }
  return joins;
}

/** Groups of at least two joins of the same relation on the same link: one self-join per filter. */
export function selfJoinGroups(select: AstNode): FilterJoin[][] {
  const groups = new Map<string, FilterJoin[]>();
  for (const item of listOf(select, 'fromClause')) {
    for (const join of filterJoins(item)) {
      const key = `${join.relation}|${join.link}`;
      groups.set(key, [...(groups.get(key) ?? []), join]);
    }
  }
  return [...groups.values()].filter((group) => group.length >= 2);
}

/** The sheets pattern: the same relation joined once per filter, each join on the same outer key. */
export const selfJoinPerFilterRule: AnalyzerRule = {
  id: 'self-join-per-filter',
  severity: 'high',
  description: 'one self-join per filter',
  explanation: 'Each filter joins the whole relation again (and a CTE is materialized and hashed once per join); the work grows with the number of filters.',
  fix: 'Filter with one EXISTS (…) per condition (a semi-join that stops at the first match), backed by an index on the join key.',
  match({ ast }) {
    const matches: RuleMatch[] = [];
    for (const select of selectsOf(ast)) {
      for (const group of selfJoinGroups(select)) {
        matches.push({ detail: `${group[0]!.relation} joined ${group.length} times (${group.map((join) => join.alias).join(', ')}) on ${group[0]!.link.split('=')[0]} = ${group[0]!.link.split('=')[1]}` });
      }
    }
    return matches;
  },
};
