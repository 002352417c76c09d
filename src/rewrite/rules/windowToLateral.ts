import { andOf, bodyOf, columnOf, columnRef, conjuncts, equals, listOf, selectsOf } from '../../analyze/ast.js';
import { latestRowShape } from '../../analyze/rules/latestRowWindow.js';
import type { LatestRowShape } from '../../analyze/rules/latestRowWindow.js';
import type { AstNode } from '../../sql/parser.js';
import type { RewriteContext, RewriteOutcome, RewriteRule } from '../rule.js';
import { latestRowIndex } from '../supportingIndex.js';
import type { IndexCandidate } from '../../advise/indexCandidate.js';
import { tieBreaker } from './tieBreaker.js';
import { dropRanking, latestRowObstacle } from './windowToDistinctOn.js';

const KEYS_ALIAS = 'qopt_keys';

/** `row_number() … = 1` → `FROM (SELECT DISTINCT keys …) k, LATERAL (… WHERE keys = k.keys ORDER BY version DESC LIMIT 1)`. */
export const windowToLateralRule: RewriteRule = {
  id: 'window-to-lateral',
  description: 'latest row per group: row_number() … = 1 → LATERAL (… ORDER BY version DESC LIMIT 1) per distinct group',
  alternativeGroup: 'latest-row',
  apply(context: RewriteContext): RewriteOutcome | null {
    const shapes = selectsOf(context.ast).map(latestRowShape).filter((shape): shape is LatestRowShape => shape !== undefined);
    if (shapes.length === 0) return null;
    const references = selectsOf(context.reference).map(latestRowShape).filter((shape): shape is LatestRowShape => shape !== undefined);
    const notes: string[] = [];
    const supportingIndexes: IndexCandidate[] = [];
    for (const [index, shape] of shapes.entries()) {
      const obstacle = latestRowObstacle(shape);
      if (obstacle) return { status: 'refused', reason: obstacle };
      const breaker = tieBreaker(shape, context.catalog);
      if (!breaker.ok) return { status: 'refused', reason: breaker.reason };
      const keys = shape.partition.map(columnOf);
      if (keys.some((key) => !key || (key.qualifier !== null && key.qualifier !== breaker.alias))) return { status: 'refused', reason: 'a partition key is not a plain column of the ranked table' };
      // Matching a group by `key = k.key` loses NULL keys, which PARTITION BY keeps as one group.
      const nullable = keys.find((key) => !context.catalog.isNotNull(breaker.table, key!.column));
      if (nullable) return { status: 'refused', reason: `partition key ${breaker.table}.${nullable.column} is nullable` };
      const supporting = latestRowIndex(shape, breaker, context.catalog);
      if (supporting) supportingIndexes.push(supporting);
      if (breaker.extra.length > 0) {
        notes.push(`ties broken by ${breaker.columns.join(', ')}`);
        const reference = references[index];
        const over = reference ? (bodyOf(bodyOf(listOf(reference.inner, 'targetList')[reference.rankTarget], 'ResTarget')?.val, 'FuncCall')?.over as AstNode | undefined) : undefined;
        if (over) over.orderClause = [...listOf(over, 'orderClause'), ...breaker.extra];
      }
      const subquery = bodyOf(listOf(shape.outer, 'fromClause')[0], 'RangeSubselect')!;
      const keySelect: AstNode = {
        ...structuredClone(shape.inner),
        distinctClause: [{}],
        targetList: keys.map((key, position) => ({ ResTarget: { name: `qopt_k${position + 1}`, val: columnRef(breaker.alias, key!.column) } })),
      };
      delete keySelect.sortClause;
      dropRanking(shape);
      shape.inner.whereClause = andOf([...conjuncts(shape.inner.whereClause), ...keys.map((key, position) => equals(columnRef(breaker.alias, key!.column), columnRef(KEYS_ALIAS, `qopt_k${position + 1}`)))]);
      shape.inner.sortClause = [...shape.order, ...breaker.extra];
      shape.inner.limitCount = { A_Const: { ival: { ival: 1 } } };
      shape.inner.limitOption = 'LIMIT_OPTION_COUNT';
      subquery.lateral = true;
      shape.outer.fromClause = [{ RangeSubselect: { subquery: { SelectStmt: keySelect }, alias: { aliasname: KEYS_ALIAS } } }, ...listOf(shape.outer, 'fromClause')];
    }
    notes.push(`${shapes.length} window ranking(s) replaced by LATERAL … LIMIT 1`);
    return { status: 'rewritten', notes, ...(supportingIndexes.length > 0 ? { supportingIndexes } : {}) };
  },
};
