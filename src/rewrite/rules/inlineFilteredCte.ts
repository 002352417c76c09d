import { bodyOf, functionName, listOf, walk } from '../../analyze/ast.js';
import type { AstNode } from '../../sql/parser.js';
import type { RewriteContext, RewriteOutcome, RewriteRule } from '../rule.js';

/** Functions whose result depends only on their arguments within one statement: inlining cannot change them. */
const STABLE_FUNCTIONS = new Set([
  'row_number', 'rank', 'dense_rank', 'count', 'sum', 'min', 'max', 'avg', 'lower', 'upper', 'coalesce', 'greatest', 'least',
  'length', 'abs', 'round', 'date_trunc', 'jsonb_build_object', 'json_build_object', 'now', 'current_date', 'bool_and', 'bool_or',
]);

/** True when some reference to the CTE sits inside an EXISTS / IN subquery, where pushed-down filters pay off. */
function referencedFromFilters(root: AstNode, name: string): boolean {
  for (const node of walk(root)) {
    if (node.type !== 'SubLink') continue;
    for (const inner of walk(node.body.subselect)) {
      if (inner.type === 'RangeVar' && inner.body.relname === name && !inner.body.schemaname) return true;
    }
  }
  return false;
}

/**
 * `WITH x AS (…)` referenced several times is materialized once, so no filter of a reference reaches its
 * scan. Marked NOT MATERIALIZED, each EXISTS gets its own copy with its filters pushed down (into the
 * index condition) — equal results for a CTE without volatile functions or data changes.
 */
export const inlineFilteredCteRule: RewriteRule = {
  id: 'inline-filtered-cte',
  description: 'a CTE read by several EXISTS filters → NOT MATERIALIZED, so each filter is pushed into its own scan',
  apply(context: RewriteContext): RewriteOutcome | null {
    const select = bodyOf(context.ast, 'SelectStmt');
    const withClause = select?.withClause as AstNode | undefined;
    if (!select || !withClause || withClause.recursive) return null;
    const inlined: string[] = [];
    for (const item of listOf(withClause, 'ctes')) {
      const cte = bodyOf(item, 'CommonTableExpr')!;
      const name = String(cte.ctename);
      if (cte.ctematerialized === 'CTEMaterializeNever' || !referencedFromFilters(context.ast, name)) continue;
      if (cte.ctematerialized === 'CTEMaterializeAlways') return { status: 'refused', reason: `${name} is explicitly MATERIALIZED` };
      const body = bodyOf(cte.ctequery, 'SelectStmt');
      if (!body) return { status: 'refused', reason: `${name} is not a plain SELECT` };
      for (const node of walk(body)) {
        const called = node.type === 'FuncCall' ? functionName({ FuncCall: node.body }) : undefined;
        if (called !== undefined && !STABLE_FUNCTIONS.has(called)) return { status: 'refused', reason: `${name} calls ${called}(), which qopt does not know to be free of side effects and stable` };
        if (node.type === 'LockingClause') return { status: 'refused', reason: `${name} locks rows (FOR UPDATE / SHARE)` };
      }
      cte.ctematerialized = 'CTEMaterializeNever';
      inlined.push(name);
    }
    return inlined.length === 0 ? null : { status: 'rewritten', notes: [`CTE ${inlined.join(', ')} inlined (NOT MATERIALIZED) so each filter reaches its scan`] };
  },
};
