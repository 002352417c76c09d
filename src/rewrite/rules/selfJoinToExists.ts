import { andOf, bodyOf, columnOf, conjuncts, listOf, operatorOf, selectsOf, walk } from '../../analyze/ast.js';
import type { Catalog } from '../../analyze/catalog.js';
import { latestRowShape } from '../../analyze/rules/latestRowWindow.js';
import { selfJoinGroups } from '../../analyze/rules/selfJoinPerFilter.js';
import type { FilterJoin } from '../../analyze/rules/selfJoinPerFilter.js';
import type { AstNode } from '../../sql/parser.js';
import type { RewriteContext, RewriteOutcome, RewriteRule } from '../rule.js';

/** The CTE bodies of a statement by name. */
function ctesOf(root: AstNode): Map<string, AstNode> {
  const ctes = new Map<string, AstNode>();
  for (const node of walk(root)) {
    if (node.type !== 'CommonTableExpr') continue;
    const body = bodyOf(node.body.ctequery, 'SelectStmt');
    if (body) ctes.set(String(node.body.ctename), body);
  }
  return ctes;
}

/** Column sets that are unique in a CTE's output: the groups of a latest-row ranking or of DISTINCT ON. */
function cteUniqueKeys(body: AstNode): string[][] {
  const shape = latestRowShape(body);
  if (shape && shape.rankFunction === 'row_number') return [shape.partition.map((key) => columnOf(key)?.column ?? '?')];
  const distinct = listOf(body, 'distinctClause');
  if (distinct.length > 0 && Object.keys(distinct[0] as object).length > 0) return [distinct.map((key) => columnOf(key)?.column ?? '?')];
  // A plain projection / filter over one derived table keeps that table's unique keys.
  const from = listOf(body, 'fromClause');
  const inner = bodyOf(bodyOf(from[0], 'RangeSubselect')?.subquery, 'SelectStmt');
  if (from.length === 1 && inner && !body.groupClause && listOf(body, 'distinctClause').length === 0) return cteUniqueKeys(inner);
  return [];
}

/** Columns of `alias` fixed by the join's ON condition (equal to something not from `alias`). */
function fixedColumns(join: FilterJoin): string[] {
  const fixed: string[] = [];
  for (const part of conjuncts(join.join.quals)) {
    const expr = bodyOf(part, 'A_Expr');
    if (expr?.kind !== 'AEXPR_OP' || operatorOf(expr) !== '=') continue;
    for (const [mine, other] of [[expr.lexpr, expr.rexpr], [expr.rexpr, expr.lexpr]]) {
      const column = columnOf(mine);
      const otherColumn = columnOf(other);
      if (column?.qualifier === join.alias && otherColumn?.qualifier !== join.alias) fixed.push(column.column);
    }
  }
  return fixed;
}

function isUniqueMatch(join: FilterJoin, ctes: Map<string, AstNode>, catalog: Catalog): boolean {
  const fixed = fixedColumns(join);
  const cte = ctes.get(join.relation);
  if (cte) return cteUniqueKeys(cte).some((key) => key.every((column) => fixed.includes(column)));
  return catalog.coversUniqueKey(join.relation, fixed);
}

/** True when `alias` is referenced anywhere in the SELECT outside its own join condition. */
function referencedElsewhere(select: AstNode, join: FilterJoin): boolean {
  const quals = join.join.quals;
  join.join.quals = undefined;
  try {
    return [...walk(select)].some((node) => node.type === 'ColumnRef' && columnOf({ ColumnRef: node.body })?.qualifier === join.alias);
  } finally {
    join.join.quals = quals;
  }
}

/** Rebuilds a left-deep join tree without the joins in `drop`. */
function withoutJoins(item: unknown, drop: ReadonlySet<AstNode>): unknown {
  const join = bodyOf(item, 'JoinExpr');
  if (!join) return item;
  if (drop.has(join)) return withoutJoins(join.larg, drop);
  join.larg = withoutJoins(join.larg, drop);
  return item;
}

/** `JOIN f0 ON f0.k = r.id AND f0.x = $1 JOIN f1 ON …` → `WHERE EXISTS (SELECT 1 FROM f f0 WHERE …) AND EXISTS (…)`. */
export const selfJoinToExistsRule: RewriteRule = {
  id: 'self-join-to-exists',
  description: 'one self-join per filter → one EXISTS per filter (when each join matches at most one row)',
  apply(context: RewriteContext): RewriteOutcome | null {
    const ctes = ctesOf(context.ast);
    let rewritten = 0;
    for (const select of selectsOf(context.ast)) {
      for (const group of selfJoinGroups(select)) {
        for (const join of group) {
          if (referencedElsewhere(select, join)) return { status: 'refused', reason: `${join.alias} is read outside its join condition, so the join cannot become a filter` };
          if (!isUniqueMatch(join, ctes, context.catalog)) return { status: 'refused', reason: `${join.alias} is not proven to match at most one row per outer row (no unique key among its join columns): a join would repeat rows an EXISTS does not` };
        }
        const drop = new Set(group.map((join) => join.join));
        select.fromClause = listOf(select, 'fromClause').map((item) => withoutJoins(item, drop));
        const exists = group.map((join) => ({
          SubLink: {
            subLinkType: 'EXISTS_SUBLINK',
            subselect: {
              SelectStmt: {
                targetList: [{ ResTarget: { val: { A_Const: { ival: { ival: 1 } } } } }],
                fromClause: [join.join.rarg],
                whereClause: join.join.quals,
                limitOption: 'LIMIT_OPTION_DEFAULT',
                op: 'SETOP_NONE',
              },
            },
          },
        }));
        select.whereClause = andOf([...conjuncts(select.whereClause), ...exists]);
        rewritten += group.length;
      }
    }
    return rewritten === 0 ? null : { status: 'rewritten', notes: [`${rewritten} filter join(s) replaced by EXISTS`] };
  },
};
