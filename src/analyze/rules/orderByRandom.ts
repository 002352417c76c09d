import { bodyOf, functionName, listOf, selectsOf } from '../ast.js';
import type { AnalyzerRule, RuleMatch } from '../rule.js';

/** `ORDER BY random()`. */
export const orderByRandomRule: AnalyzerRule = {
  id: 'order-by-random',
  severity: 'medium',
  description: 'ORDER BY random()',
  explanation: 'Every row gets a random key and the whole set is sorted to keep a few; the cost grows with the table.',
  fix: 'Sample with TABLESAMPLE SYSTEM/BERNOULLI, or pick random keys in the id range and fetch those.',
  match({ ast }) {
    const matches: RuleMatch[] = [];
    for (const select of selectsOf(ast)) {
      for (const sort of listOf(select, 'sortClause')) {
        const name = functionName(bodyOf(sort, 'SortBy')?.node);
        if (name === 'random') matches.push({ detail: 'ORDER BY random()' });
      }
    }
    return matches;
  },
};
