import { bindingsOf, bodyOf, columnOf, conjuncts, functionName, listOf, operatorOf, walk } from '../../analyze/ast.js';
import { AGGREGATES } from '../../analyze/rules/unboundedResult.js';
import { isCorrelated } from '../../analyze/rules/correlatedSubquery.js';
import type { RewriteContext, RewriteOutcome, RewriteRule } from '../rule.js';


/** `SELECT o.*, (SELECT u.name FROM users u WHERE u.id = o.user_id) AS name FROM orders o` → `… u.name AS name FROM orders o LEFT JOIN users u ON u.id = o.user_id` when u.id is unique. */
export const scalarSubqueryToJoinRule: RewriteRule = {
  id: 'scalar-subquery-to-join',
  description: 'correlated scalar subquery in the SELECT list → LEFT JOIN, when the correlation columns are a unique key',
  apply(context: RewriteContext): RewriteOutcome | null {
    const select = bodyOf(context.ast, 'SelectStmt');
    if (!select || listOf(select, 'fromClause').length === 0) return null;
    const outer = bindingsOf(listOf(select, 'fromClause'));
    let rewritten = 0;
    for (const target of listOf(select, 'targetList')) {
      const res = bodyOf(target, 'ResTarget')!;
      const link = bodyOf(res.val, 'SubLink');
      const sub = bodyOf(link?.subselect, 'SelectStmt');
      if (link?.subLinkType !== 'EXPR_SUBLINK' || !sub || !isCorrelated(sub, new Set(outer.keys()))) continue;
      const inner = bindingsOf(listOf(sub, 'fromClause'));
      const [alias, table] = [...inner.entries()][0] ?? [];
      if (inner.size !== 1 || !alias || !table || listOf(sub, 'fromClause').length !== 1) return { status: 'refused', reason: 'the scalar subquery must read exactly one table' };
      if (outer.has(alias)) return { status: 'refused', reason: `the subquery alias ${alias} is already used by the outer query` };
      if (sub.groupClause || sub.havingClause || sub.limitCount || sub.distinctClause || sub.sortClause || listOf(sub, 'targetList').length !== 1) return { status: 'refused', reason: 'the scalar subquery groups, sorts, limits or returns several columns' };
      const value = bodyOf(listOf(sub, 'targetList')[0], 'ResTarget')!;
      if (walk(value.val).some((node) => node.type === 'FuncCall' && AGGREGATES.has(functionName({ FuncCall: node.body }) ?? ''))) return { status: 'refused', reason: 'the scalar subquery aggregates: an aggregate over no rows is not NULL for every function' };
      const fixed: string[] = [];
      for (const part of conjuncts(sub.whereClause)) {
        const expr = bodyOf(part, 'A_Expr');
        if (expr?.kind !== 'AEXPR_OP' || operatorOf(expr) !== '=') continue;
        for (const side of [expr.lexpr, expr.rexpr]) {
          const column = columnOf(side);
          const other = columnOf(side === expr.lexpr ? expr.rexpr : expr.lexpr);
          if (column && (column.qualifier === alias || column.qualifier === null) && other?.qualifier !== alias) fixed.push(column.column);
        }
      }
      if (!context.catalog.coversUniqueKey(table, fixed)) return { status: 'refused', reason: `${table}: the columns the subquery fixes (${fixed.join(', ') || 'none'}) are not a unique key, so a join could repeat rows` };
      const name = res.name ?? value.name ?? columnOf(value.val)?.column;
      if (!name) return { status: 'refused', reason: 'the subquery column has no name to keep' };
      const from = listOf(select, 'fromClause');
      from[from.length - 1] = {
        JoinExpr: { jointype: 'JOIN_LEFT', larg: from[from.length - 1], rarg: listOf(sub, 'fromClause')[0], quals: sub.whereClause ?? { A_Const: { boolval: { boolval: true } } } },
      };
      res.val = value.val;
      res.name = name;
      rewritten += 1;
    }
    return rewritten === 0 ? null : { status: 'rewritten', notes: [`${rewritten} scalar subquery(ies) replaced by LEFT JOIN on a unique key`] };
  },
};

