import { bodyOf, constantValue, functionName, listOf, operatorOf, walk } from '../../analyze/ast.js';
import { isCountExpression } from '../../analyze/rules/countAsExistence.js';
import type { AstNode } from '../../sql/parser.js';
import type { RewriteContext, RewriteOutcome, RewriteRule } from '../rule.js';

/** Which existence test a comparison of a count with a constant is: true = "some", false = "none". */
function existenceOf(operator: string, value: unknown): boolean | undefined {
  if ((operator === '>' && value === 0) || (operator === '>=' && value === 1) || (operator === '<>' && value === 0)) return true;
  if ((operator === '=' && value === 0) || (operator === '<' && value === 1)) return false;
  return undefined;
}

/** `(SELECT count(*) FROM … WHERE …) > 0` → `EXISTS (SELECT 1 FROM … WHERE …)` (and `= 0` → NOT EXISTS). */
export const countToExistsRule: RewriteRule = {
  id: 'count-to-exists',
  description: '(SELECT count(*) …) > 0 → EXISTS (SELECT 1 …); = 0 → NOT EXISTS',
  apply(context: RewriteContext): RewriteOutcome | null {
    let rewritten = 0;
    for (const node of walk(context.ast)) {
      if (node.type !== 'A_Expr' || node.body.kind !== 'AEXPR_OP') continue;
      const link = bodyOf(node.body.lexpr, 'SubLink');
      const some = existenceOf(operatorOf(node.body), constantValue(node.body.rexpr));
      if (!link || some === undefined || !isCountExpression(node.body.lexpr)) continue;
      const sub = bodyOf(link.subselect, 'SelectStmt')!;
      const call = bodyOf(bodyOf(listOf(sub, 'targetList')[0], 'ResTarget')?.val, 'FuncCall');
      if (!call?.agg_star || call.agg_distinct || sub.havingClause || sub.limitCount || sub.limitOffset || functionName({ FuncCall: call }) !== 'count') {
        return { status: 'refused', reason: 'only a plain count(*) without HAVING / LIMIT / OFFSET is an existence test' };
      }
      sub.targetList = [{ ResTarget: { val: { A_Const: { ival: { ival: 1 } } } } }];
      const exists: AstNode = { SubLink: { subLinkType: 'EXISTS_SUBLINK', subselect: { SelectStmt: sub } } };
      // Replace the comparison node in place: its wrapper object keeps its identity in the parent.
      const replacement = some ? exists : { BoolExpr: { boolop: 'NOT_EXPR', args: [exists] } };
      const wrapper = node.body as Record<string, unknown>;
      for (const key of Object.keys(wrapper)) delete wrapper[key];
      Object.assign(wrapper, { __replace: replacement });
      rewritten += 1;
    }
    if (rewritten === 0) return null;
    replaceMarked(context.ast);
    return { status: 'rewritten', notes: [`${rewritten} count comparison(s) replaced by EXISTS`] };
  },
};

/** Swaps every `{ A_Expr: { __replace: X } }` for X. */
function replaceMarked(root: unknown): void {
  if (typeof root !== 'object' || root === null) return;
  for (const [key, value] of Object.entries(root)) {
    const marked = bodyOf(value, 'A_Expr')?.__replace;
    if (marked) (root as Record<string, unknown>)[key] = marked;
    else replaceMarked(value);
  }
}
