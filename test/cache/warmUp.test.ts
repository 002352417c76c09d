import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

let schema: TestSchema;
let qo: Optimizer;

const hot = 'SELECT id, amount FROM price WHERE id = $1';
const cold = 'SELECT count(*) AS n FROM price WHERE amount > $1';

beforeAll(async () => {
  schema = await createTestSchema('qopt_cache_warmup');
  qo = await createOptimizer({ database: { url: schema.url }, cache: { changeCapture: false, warmUpIntervalSeconds: 0 } }); // warm-ups only when the test asks
  await qo.query('CREATE TABLE price (id int PRIMARY KEY, amount int NOT NULL)');
  await qo.query('INSERT INTO price SELECT g, g * 10 FROM generate_series(1, 20) g');
});

afterAll(async () => {
  await qo.close();
  await schema.drop();
});

afterEach(() => {
  vi.useRealTimers();
});

const cached = (sql: string, params: unknown[]) => qo.cache.isCachedLocally(qo.analyze(sql), params);
const calls = (sql: string) => qo.recorder.snapshot().find((shape) => shape.fingerprint === qo.analyze(sql).fingerprint)?.calls ?? 0;

describe('warm-up from the monitor’s hottest queries', () => {
  it('re-runs the recent instances of the hottest cached read after an invalidation, and only those', async () => {
    for (let round = 0; round < 20; round += 1) for (const id of [1, 2, 3]) await qo.query(hot, [id]);
    await qo.query(cold, [50]);
    expect(cached(hot, [1]) && cached(hot, [2]) && cached(hot, [3]) && cached(cold, [50])).toBe(true);

    await qo.query('UPDATE price SET amount = amount + 1'); // table-level: every cached read of price goes
    expect(cached(hot, [1]) || cached(hot, [2]) || cached(hot, [3]) || cached(cold, [50])).toBe(false);
    const hotCalls = calls(hot);

    const report = await qo.warmUpHottest({ top: 1, perQuery: 4 });
    expect(report).toMatchObject({ shapes: 1, queries: 3, warmed: 3, alreadyCached: 0, failed: 0 });
    expect([cached(hot, [1]), cached(hot, [2]), cached(hot, [3])]).toEqual([true, true, true]);
    expect(cached(cold, [50])).toBe(false);
    // Warm-up is not traffic: the monitor's counts are those of the application's own calls.
    expect(calls(hot)).toBe(hotCalls);
    // The warmed rows are the committed ones.
    expect((await qo.query(hot, [2])).rows).toEqual([{ id: 2, amount: 21 }]);

    const again = await qo.warmUpHottest({ top: 1, perQuery: 4 });
    expect(again).toMatchObject({ queries: 3, warmed: 0, alreadyCached: 3 });
  });

  it('skips an instance loaded under a role or statement timeout no warm-up runner is registered for, and says why', async () => {
    const limited = 'SELECT amount FROM price WHERE id = $1 AND amount > $2';
    await qo.query(limited, [4, 0], { cache: { statementTimeoutMs: 300 } });
    await qo.query(limited, [5, 0], { cache: { role: 'current_user' } });
    await qo.query('UPDATE price SET amount = amount + 1 WHERE id IN (4, 5)');

    const report = await qo.warmUpHottest({ top: 20, perQuery: 8 });
    expect(report.skipped).toBe(2);
    expect(report.skippedReasons).toEqual([expect.stringContaining('role'), expect.stringContaining('statement timeout')]);
    expect(cached(limited, [4, 0]) || cached(limited, [5, 0])).toBe(false);
  });

  it('re-runs an instance through the loader registered for the identity it was loaded under', async () => {
    const timed = 'SELECT amount FROM price WHERE id = $1 AND amount >= $2';
    const identity = { role: undefined, statementTimeoutMs: 250 };
    const seen: unknown[][] = [];
    qo.registerWarmUpLoader(identity, async ({ sql, params }) => {
      seen.push([...params]);
      await qo.query(sql, params, { cache: identity });
    });
    await qo.query(timed, [6, 0], { cache: identity });
    await qo.query('UPDATE price SET amount = amount + 1 WHERE id = 6');
    expect(cached(timed, [6, 0])).toBe(false);

    const report = await qo.warmUpHottest({ top: 20, perQuery: 8 });
    expect(seen).toEqual([[6, 0]]);
    expect(report.warmed).toBeGreaterThanOrEqual(1);
    expect(cached(timed, [6, 0])).toBe(true);
  });

  it('runs by itself every cache.warmUpIntervalSeconds when cache.warmUp is on', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const cycling = await createOptimizer({ database: { url: schema.url }, cache: { changeCapture: false, warmUpIntervalSeconds: 5, warmUpTopQueries: 1 } });
    try {
      for (let round = 0; round < 5; round += 1) await cycling.query(hot, [7]);
      await cycling.query('UPDATE price SET amount = amount + 1 WHERE id = 7');
      const isCached = () => cycling.cache.isCachedLocally(cycling.analyze(hot), [7]);
      expect(isCached()).toBe(false);
      vi.advanceTimersByTime(5000);
      const report = await cycling.warmUpHottest(); // joins the cycle's run
      expect(report.warmed).toBe(1);
      expect(isCached()).toBe(true);
    } finally {
      await cycling.close();
    }
  });

  it('does not run periodically when cache.warmUp is off', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const off = await createOptimizer({ database: { url: schema.url }, cache: { changeCapture: false, warmUp: false } });
    const withoutWarmUp = vi.getTimerCount();
    const on = await createOptimizer({ database: { url: schema.url }, cache: { changeCapture: false, warmUp: true } });
    try {
      // The second optimizer has the first one's timers (the monitor's) plus the warm-up cycle.
      expect(vi.getTimerCount()).toBe(2 * withoutWarmUp + 1);
    } finally {
      await off.close();
      await on.close();
    }
  });
});
