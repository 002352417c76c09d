import { constantValue, operatorOf, walk } from '../ast.js';
import type { AnalyzerRule } from '../rule.js';

const LIKE_OPERATORS = new Set(['~~', '~~*']);

/** `col LIKE '%…'` / `ILIKE '%…'`. */
export const leadingWildcardLikeRule: AnalyzerRule = {
  id: 'leading-wildcard-like',
  severity: 'medium',
  description: "leading-wildcard LIKE ('%…')",
  explanation: 'A B-tree index serves only patterns with a fixed prefix; a leading % scans every row.',
  fix: 'Use a trigram index (pg_trgm GIN) or full-text search, or anchor the pattern.',
  match({ ast }) {
    const matches = [];
    for (const node of walk(ast)) {
      if (node.type !== 'A_Expr' || node.body.kind !== 'AEXPR_LIKE' && node.body.kind !== 'AEXPR_ILIKE' && !(node.body.kind === 'AEXPR_OP' && LIKE_OPERATORS.has(operatorOf(node.body)))) continue;
      if (!LIKE_OPERATORS.has(operatorOf(node.body))) continue;
      const pattern = constantValue(node.body.rexpr);
      if (typeof pattern === 'string' && (pattern.startsWith('%') || pattern.startsWith('_'))) matches.push({ detail: `LIKE '${pattern}'` });
    }
    return matches;
  },
};
