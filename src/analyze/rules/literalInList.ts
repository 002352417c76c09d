import { bodyOf, constantValue, listOf, walk } from '../ast.js';
import type { AnalyzerRule } from '../rule.js';

/** A literal IN-list at least this long is flagged. */
const MIN_LITERALS = 3;

/** `col IN (1, 2, 3, …)` with literal values. */
export const literalInListRule: AnalyzerRule = {
  id: 'literal-in-list',
  severity: 'low',
  description: 'literal IN-list (use = ANY($1) with an array parameter)',
  explanation: 'Each list length is a different statement text: no prepared-statement reuse, one plan per length, and long lists make parsing and planning slow.',
  fix: 'Bind one array parameter: col = ANY($1::bigint[]).',
  match({ ast }) {
    const matches = [];
    for (const node of walk(ast)) {
      if (node.type !== 'A_Expr' || node.body.kind !== 'AEXPR_IN') continue;
      const items = listOf(bodyOf(node.body.rexpr, 'List'), 'items');
      const literals = items.filter((item) => constantValue(item) !== undefined).length;
      if (literals >= MIN_LITERALS) matches.push({ detail: `IN list of ${literals} literals` });
    }
    return matches;
  },
};
