import { andOf, bindingsOf, bodyOf, columnOf, columnRef, conjuncts, equals, listOf, selectsOf, walkScope } from '../../analyze/ast.js';
import type { RewriteContext, RewriteOutcome, RewriteRule } from '../rule.js';

/** `x NOT IN (SELECT col FROM t …)` → `NOT EXISTS (SELECT 1 FROM t … AND col = x)`, only when neither side can be NULL. */
export const notInToNotExistsRule: RewriteRule = {
  id: 'not-in-to-not-exists',
  description: 'NOT IN (subquery) → NOT EXISTS, when both the column and the tested value are NOT NULL',
  apply(context: RewriteContext): RewriteOutcome | null {
    let rewritten = 0;
    for (const select of selectsOf(context.ast)) {
      const outer = bindingsOf(listOf(select, 'fromClause'));
      for (const node of walkScope(select.whereClause)) {
        if (node.type !== 'BoolExpr' || node.body.boolop !== 'NOT_EXPR') continue;
        const link = bodyOf(listOf(node.body, 'args')[0], 'SubLink');
        const sub = bodyOf(link?.subselect, 'SelectStmt');
        if (link?.subLinkType !== 'ANY_SUBLINK' || !sub) continue;
        const tested = columnOf(link.testexpr);
        const target = columnOf(bodyOf(listOf(sub, 'targetList')[0], 'ResTarget')?.val);
        const inner = bindingsOf(listOf(sub, 'fromClause'));
        if (!tested || !target || inner.size !== 1 || sub.groupClause || sub.limitCount || listOf(sub, 'targetList').length !== 1) {
          return { status: 'refused', reason: 'NOT IN shape not supported: the subquery must select one column of one table, without GROUP BY or LIMIT' };
        }
        const [innerAlias, innerTable] = [...inner.entries()][0]!;
        const outerAlias = tested.qualifier ?? (outer.size === 1 ? [...outer.keys()][0]! : null);
        const outerTable = outerAlias ? outer.get(outerAlias) : undefined;
        if (!outerAlias || !outerTable || !innerTable) return { status: 'refused', reason: 'cannot tell which table the tested column belongs to' };
        if (outerAlias === innerAlias) return { status: 'refused', reason: `the subquery's alias ${innerAlias} hides the outer ${outerAlias}` };
        if (!context.catalog.isNotNull(innerTable, target.column)) return { status: 'refused', reason: `${innerTable}.${target.column} is nullable: one NULL makes NOT IN return no rows, NOT EXISTS would return them` };
        if (!context.catalog.isNotNull(outerTable, tested.column)) return { status: 'refused', reason: `${outerTable}.${tested.column} is nullable: NOT IN drops its NULL rows, NOT EXISTS would keep them` };
        link.subLinkType = 'EXISTS_SUBLINK';
        delete link.testexpr;
        delete link.operName;
        sub.targetList = [{ ResTarget: { val: { A_Const: { ival: { ival: 1 } } } } }];
        sub.whereClause = andOf([...conjuncts(sub.whereClause), equals(columnRef(target.qualifier ?? innerAlias, target.column), columnRef(outerAlias, tested.column))]);
        rewritten += 1;
      }
    }
    return rewritten === 0 ? null : { status: 'rewritten', notes: [`${rewritten} NOT IN replaced by NOT EXISTS (both sides NOT NULL)`] };
  },
};

