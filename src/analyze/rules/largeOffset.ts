import { constantValue, selectsOf } from '../ast.js';
import type { AnalyzerRule } from '../rule.js';

/** An OFFSET at least this large is flagged; a parameter OFFSET is flagged too (it grows with the page number). */
const LARGE_OFFSET = 1000;

/** OFFSET pagination with a large (or parameter) offset. */
export const largeOffsetRule: AnalyzerRule = {
  id: 'large-offset',
  severity: 'medium',
  description: 'OFFSET pagination with a large offset',
  explanation: 'The server produces and discards every skipped row: page n costs n pages of work, and rows shift between pages under concurrent writes.',
  fix: 'Paginate by key (keyset): WHERE (sort_key, id) > ($last_key, $last_id) ORDER BY sort_key, id LIMIT n.',
  match({ ast }) {
    const matches = [];
    for (const select of selectsOf(ast)) {
      const offset = select.limitOffset;
      if (!offset) continue;
      const value = constantValue(offset);
      if (typeof value === 'number' && value >= LARGE_OFFSET) matches.push({ detail: `OFFSET ${value}` });
      else if (value === undefined && JSON.stringify(offset).includes('ParamRef')) matches.push({ detail: 'OFFSET from a parameter (grows with the page number)' });
    }
    return matches;
  },
};
