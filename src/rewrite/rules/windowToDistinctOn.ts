import { bodyOf, columnOf, conjuncts, andOf, listOf, selectsOf, walk } from '../../analyze/ast.js';
import { latestRowShape } from '../../analyze/rules/latestRowWindow.js';
import type { LatestRowShape } from '../../analyze/rules/latestRowWindow.js';
import type { AstNode } from '../../sql/parser.js';
import type { RewriteContext, RewriteOutcome, RewriteRule } from '../rule.js';
import { latestRowIndex } from '../supportingIndex.js';
import type { IndexCandidate } from '../../advise/indexCandidate.js';
import { tieBreaker } from './tieBreaker.js';

/** Why the latest-row shape cannot be rewritten, or null when it can. */
export function latestRowObstacle(shape: LatestRowShape): string | null {
  if (shape.rankFunction !== 'row_number') return `${shape.rankFunction}() keeps every tied row; only row_number() picks one`;
  if (listOf(shape.inner, 'sortClause').length > 0 || shape.inner.limitCount || shape.inner.distinctClause) return 'the ranked subquery has its own ORDER BY / LIMIT / DISTINCT';
  const others = { ...shape.outer, fromClause: undefined, withClause: undefined, whereClause: andOf(conjuncts(shape.outer.whereClause).filter((_, index) => index !== shape.filterIndex)) };
  for (const node of walk(others)) {
    if (node.type !== 'ColumnRef') continue;
    const column = columnOf({ ColumnRef: node.body });
    if (column?.column === shape.rankName || column?.column === '*') return `the outer query reads ${column.column === '*' ? '*' : shape.rankName}, which the rewrite drops`;
  }
  return null;
}

/** Drops the `rn = 1` conjunct from the outer WHERE and the ranking target from the inner SELECT. */
export function dropRanking(shape: LatestRowShape): void {
  shape.outer.whereClause = andOf(conjuncts(shape.outer.whereClause).filter((_, index) => index !== shape.filterIndex));
  if (shape.outer.whereClause === undefined) delete shape.outer.whereClause;
  shape.inner.targetList = listOf(shape.inner, 'targetList').filter((_, index) => index !== shape.rankTarget);
}

function sortBy(node: unknown): AstNode {
  return { SortBy: { node, sortby_dir: 'SORTBY_DEFAULT', sortby_nulls: 'SORTBY_NULLS_DEFAULT' } };
}

/** `row_number() OVER (PARTITION BY k ORDER BY v DESC) … WHERE rn = 1` → `SELECT DISTINCT ON (k) … ORDER BY k, v DESC`. */
export const windowToDistinctOnRule: RewriteRule = {
  id: 'window-to-distinct-on',
  description: 'latest row per group: row_number() … = 1 → DISTINCT ON (group) … ORDER BY group, version DESC',
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
      const supporting = latestRowIndex(shape, breaker, context.catalog);
      if (supporting) supportingIndexes.push(supporting);
      const order = [...shape.order, ...breaker.extra];
      if (breaker.extra.length > 0) {
        notes.push(`ties in the window order are broken by ${breaker.columns.join(', ')} (the original may return any tied row)`);
        const reference = references[index];
        const over = reference ? (bodyOf(bodyOf(listOf(reference.inner, 'targetList')[reference.rankTarget], 'ResTarget')?.val, 'FuncCall')?.over as AstNode | undefined) : undefined;
        if (over) over.orderClause = [...listOf(over, 'orderClause'), ...breaker.extra];
      }
      dropRanking(shape);
      shape.inner.distinctClause = shape.partition;
      shape.inner.sortClause = [...shape.partition.map(sortBy), ...order];
    }
    notes.push(`${shapes.length} window ranking(s) replaced by DISTINCT ON`);
    return { status: 'rewritten', notes, ...(supportingIndexes.length > 0 ? { supportingIndexes } : {}) };
  },
};
