import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { eventually, freePort, startRedisServer } from './support.js';
import type { RedisProcess } from './support.js';

let schema: TestSchema;
let redis: RedisProcess;
let a: Optimizer;
let b: Optimizer;

beforeAll(async () => {
  schema = await createTestSchema('qopt_cache_outage');
  redis = await startRedisServer(await freePort());
  const options = { database: { url: schema.url }, redis: { url: redis.url, keyPrefix: 'outage:', commandTimeoutMs: 100 }, cache: { changeCapture: false } };
  a = await createOptimizer(options);
  b = await createOptimizer(options);
  await a.query('CREATE TABLE acct (id int PRIMARY KEY, balance int)');
  await a.query('INSERT INTO acct SELECT g, 100 FROM generate_series(1, 10) g');
});

afterAll(async () => {
  await a.close();
  await b.close();
  await redis.kill();
  await schema.drop();
});

const byId = 'SELECT balance FROM acct WHERE id = $1';

describe('Redis killed mid-run', () => {
  it('goes on with L1 and the database without errors, and uses Redis again when it is back', async () => {
    await a.query(byId, [1]);
    await b.query(byId, [1]);
    expect(a.cache.stats().l2!.available).toBe(true);

    await redis.kill();
    // Reads and writes keep working while Redis is gone: no error reaches the caller.
    for (let i = 0; i < 5; i += 1) {
      await a.query('UPDATE acct SET balance = balance + 1 WHERE id = 1');
      expect((await a.query(byId, [1])).rows).toEqual([{ balance: 101 + i }]);
    }
    await eventually(() => !a.cache.stats().l2!.available && !b.cache.stats().l2!.available);
    expect(a.cache.stats().pendingBumps).toBeGreaterThan(0);
    // B's L1 was dropped when Redis went away: it could not hear A's invalidations.
    expect((await b.query(byId, [1])).rows).toEqual([{ balance: 105 }]);

    redis = await startRedisServer(redis.port);
    await eventually(() => a.cache.stats().l2!.available && b.cache.stats().l2!.available && a.cache.stats().pendingBumps === 0, 20);
    await a.query('UPDATE acct SET balance = 0 WHERE id = 1');
    expect((await b.query(byId, [1])).rows).toEqual([{ balance: 0 }]);
    const l2Stores = a.cache.stats().l2!.stores;
    await a.query(byId, [2]);
    await eventually(() => a.cache.stats().l2!.stores > l2Stores);
    expect((await b.query(byId, [2])).rows).toEqual([{ balance: 100 }]);
    expect(b.cache.stats().l2!.hits).toBeGreaterThan(0);
  }, 30_000);
});

describe('Redis frozen mid-run (connections open, no answers)', () => {
  it('bounds every call by the command timeout, opens the breaker, and uses Redis again when it answers', async () => {
    const frozen = await startRedisServer(await freePort());
    const c = await createOptimizer({ database: { url: schema.url }, redis: { url: frozen.url, keyPrefix: 'frozen:', commandTimeoutMs: 100 }, cache: { changeCapture: false, l1SizeMb: 0 } });
    try {
      await c.query(byId, [3]);
      await eventually(() => c.cache.stats().l2!.stores > 0);
      expect((await c.query(byId, [3])).rows).toEqual([{ balance: 100 }]);
      expect(c.cache.stats().l2!.hits).toBe(1);

      frozen.pause();
      // Five reads at once: their lookups time out together, each counts as a failure, and the breaker opens.
      const together = await Promise.all([3, 4, 5, 6, 7].map((id) => c.query(byId, [id])));
      expect(together.map((result) => result.rows)).toEqual([3, 4, 5, 6, 7].map(() => [{ balance: 100 }]));
      expect(c.cache.stats().l2!.errors).toBeGreaterThanOrEqual(5);
      expect(c.cache.stats().l2!.available).toBe(false);
      // Every read still answers, from the database.
      for (let i = 0; i < 3; i += 1) expect((await c.query(byId, [3])).rows).toEqual([{ balance: 100 }]);
      expect(c.cache.stats().l2!.hits).toBe(1);

      frozen.resume();
      await eventually(async () => {
        await c.query(byId, [3]);
        return c.cache.stats().l2!.available;
      }, 50);
      await eventually(async () => {
        await c.query(byId, [3]);
        return c.cache.stats().l2!.hits > 1;
      }, 50);
    } finally {
      frozen.resume();
      await c.close();
      await frozen.kill();
    }
  }, 30_000);
});
