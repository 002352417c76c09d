import { bodyOf, constantValue, functionName, listOf, operatorOf, walk } from '../ast.js';
import type { AnalyzerRule } from '../rule.js';

/** True for `count(*)` / `count(x)` or a scalar subquery selecting only that. */
export function isCountExpression(node: unknown): boolean {
  if (functionName(node) === 'count') return true;
  const link = bodyOf(node, 'SubLink');
  const sub = bodyOf(link?.subselect, 'SelectStmt');
  if (link?.subLinkType !== 'EXPR_SUBLINK' || !sub) return false;
  const targets = listOf(sub, 'targetList');
  return targets.length === 1 && functionName(bodyOf(targets[0], 'ResTarget')?.val) === 'count' && listOf(sub, 'groupClause').length === 0;
}

/** The comparisons that only ask "is there at least one?" (or "none?"). */
export function isExistenceComparison(operator: string, value: unknown): boolean {
  return (operator === '>' && value === 0) || (operator === '>=' && value === 1) || (operator === '<>' && value === 0) || (operator === '=' && value === 0) || (operator === '<' && value === 1);
}

/** `(SELECT count(*) …) > 0`, `HAVING count(*) > 0` and friends. */
export const countAsExistenceRule: AnalyzerRule = {
  id: 'count-as-existence',
  severity: 'medium',
  description: 'COUNT(*) used as an existence test',
  explanation: 'COUNT reads every matching row only to compare the total with zero; EXISTS stops at the first one.',
  fix: 'Use EXISTS (SELECT 1 FROM … WHERE …) (or NOT EXISTS for = 0).',
  match({ ast }) {
    const matches = [];
    for (const node of walk(ast)) {
      if (node.type !== 'A_Expr' || node.body.kind !== 'AEXPR_OP') continue;
      const operator = operatorOf(node.body);
      if (isCountExpression(node.body.lexpr) && isExistenceComparison(operator, constantValue(node.body.rexpr))) {
        matches.push({ detail: `count(…) ${operator} ${String(constantValue(node.body.rexpr))}` });
      }
    }
    return matches;
  },
};
