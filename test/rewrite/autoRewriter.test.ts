import { describe, expect, it } from 'vitest';
import { AutoRewriter } from '../../src/rewrite/autoRewriter.js';
import type { RewriteCandidate } from '../../src/rewrite/rewriter.js';

const ORIGINAL = 'SELECT a FROM t WHERE b = $1';
const candidate: RewriteCandidate = { rules: ['test-rule'], sql: 'SELECT a FROM t WHERE b = $1 /* rewritten */', params: [1], referenceSql: ORIGINAL, notes: [] };

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

describe('AutoRewriter', () => {
  it('runs the original until the text is hot, then the proven rewrite', async () => {
    const proved: string[] = [];
    const rewriter = new AutoRewriter(async (sql) => { proved.push(sql); return candidate; }, { hotCalls: 3, compareCalls: 2 });
    expect([1, 2].map(() => rewriter.route(ORIGINAL, [1]))).toEqual([ORIGINAL, ORIGINAL]);
    expect(rewriter.route(ORIGINAL, [1])).toBe(ORIGINAL);
    await settle();
    expect(proved).toEqual([ORIGINAL]);
    expect(rewriter.route(ORIGINAL, [1])).toBe(candidate.sql);
    expect(rewriter.events.map((event) => event.action)).toEqual(['applied']);
  });

  it('reverts for good when the rewrite measures slower than the original', async () => {
    const rewriter = new AutoRewriter(async () => candidate, { hotCalls: 2, compareCalls: 2 });
    for (const duration of [5, 5]) rewriter.observe(ORIGINAL, rewriter.route(ORIGINAL, [1]), duration);
    await settle();
    for (const duration of [9, 9]) rewriter.observe(ORIGINAL, rewriter.route(ORIGINAL, [1]), duration);
    expect(rewriter.events.map((event) => event.action)).toEqual(['applied', 'reverted']);
    expect(rewriter.route(ORIGINAL, [1])).toBe(ORIGINAL);
    expect(rewriter.appliedRewrite(ORIGINAL)).toBeNull();
  });

  it('keeps a rewrite that measures faster', async () => {
    const rewriter = new AutoRewriter(async () => candidate, { hotCalls: 2, compareCalls: 2 });
    for (const duration of [5, 5]) rewriter.observe(ORIGINAL, rewriter.route(ORIGINAL, [1]), duration);
    await settle();
    for (const duration of [1, 1, 1, 1]) rewriter.observe(ORIGINAL, rewriter.route(ORIGINAL, [1]), duration);
    expect(rewriter.appliedRewrite(ORIGINAL)).toBe(candidate);
  });

  it('never applies a rewrite that needs parameters the caller does not pass, nor an unproven one', async () => {
    const needsMore = new AutoRewriter(async () => ({ ...candidate, params: [1, [2, 3]] }), { hotCalls: 1, compareCalls: 2 });
    needsMore.route(ORIGINAL, [1]);
    await settle();
    expect(needsMore.route(ORIGINAL, [1])).toBe(ORIGINAL);
    const none = new AutoRewriter(async () => null, { hotCalls: 1, compareCalls: 2 });
    none.route(ORIGINAL, [1]);
    await settle();
    expect(none.route(ORIGINAL, [1])).toBe(ORIGINAL);
    expect(none.events.map((event) => event.action)).toEqual(['unproven']);
  });

  it('falls back to the original and reverts when the rewrite fails at run time', async () => {
    const rewriter = new AutoRewriter(async () => candidate, { hotCalls: 1, compareCalls: 2 });
    await rewriter.run(ORIGINAL, [1], async (text) => text);
    await settle();
    const ran: string[] = [];
    const result = await rewriter.run(ORIGINAL, [1], async (text) => {
      ran.push(text);
      if (text !== ORIGINAL) throw new Error('relation "t2" does not exist');
      return 'original rows';
    });
    expect(result).toBe('original rows');
    expect(ran).toEqual([candidate.sql, ORIGINAL]);
    expect(rewriter.events.map((event) => event.action)).toEqual(['applied', 'reverted']);
  });
});
