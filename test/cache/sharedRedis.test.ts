import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { dropRedisPrefix, REDIS_URL, redisPrefix } from './support.js';

let schema: TestSchema;
let prefix: string;
let l3Dir: string;
let a: Optimizer;
let b: Optimizer;

const options = () => ({
  database: { url: schema.url },
  // A generous command timeout: on a loaded 2-core machine a 250 ms Redis timeout degrades (by design)
  // to "run it yourself", which would make the exact run-once assertions below depend on load.
  redis: { url: REDIS_URL, keyPrefix: prefix, commandTimeoutMs: 2000 },
  cache: { changeCapture: false },
});

beforeAll(async () => {
  schema = await createTestSchema('qopt_cache_redis');
  prefix = redisPrefix();
  l3Dir = mkdtempSync(join(tmpdir(), 'qopt-l3-'));
  a = await createOptimizer(options());
  b = await createOptimizer(options());
  await a.query('CREATE TABLE item (id int PRIMARY KEY, label text, qty int)');
  await a.query("INSERT INTO item SELECT g, 'item ' || g, g FROM generate_series(1, 50) g");
});

afterAll(async () => {
  await a.close();
  await b.close();
  await schema.drop();
  await dropRedisPrefix(prefix);
  rmSync(l3Dir, { recursive: true, force: true });
});

const byId = 'SELECT label, qty FROM item WHERE id = $1';

describe('two instances sharing Redis', () => {
  it('serves on one instance an L2 entry the other stored', async () => {
    await a.query(byId, [1]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const l2Hits = b.cache.stats().l2!.hits;
    expect((await b.query(byId, [1])).rows).toEqual([{ label: 'item 1', qty: 1 }]);
    expect(b.cache.stats().l2!.hits).toBe(l2Hits + 1);
    const l1Hits = b.cache.stats().l1.hits;
    await b.query(byId, [1]);
    expect(b.cache.stats().l1.hits).toBe(l1Hits + 1);
  });

  it('never serves the old row on the other instance after a write on one', async () => {
    for (let round = 0; round < 20; round += 1) {
      await b.query(byId, [2]);
      await a.query(byId, [2]);
      await a.query('UPDATE item SET qty = $1 WHERE id = 2', [1000 + round]);
      expect((await b.query(byId, [2])).rows).toEqual([{ label: 'item 2', qty: 1000 + round }]);
      expect((await a.query(byId, [2])).rows).toEqual([{ label: 'item 2', qty: 1000 + round }]);
    }
    expect(a.cache.stats().bus!.ackTimeouts).toBe(0);
  });

  it('keeps other rows cached in L2 and L1 of both instances after a primary-key update', async () => {
    await a.query(byId, [3]);
    await b.query(byId, [3]);
    await a.query('UPDATE item SET qty = 0 WHERE id = 4');
    const hits = b.cache.stats().l1.hits;
    await b.query(byId, [3]);
    expect(b.cache.stats().l1.hits).toBe(hits + 1);
  });

  it('runs concurrent misses of one query once across instances (Redis lease)', async () => {
    const sql = 'SELECT sum(qty) AS total FROM item WHERE id < $1';
    const before = a.cache.stats().misses + b.cache.stats().misses;
    const results = await Promise.all([...Array.from({ length: 5 }, () => a.query(sql, [40])), ...Array.from({ length: 5 }, () => b.query(sql, [40]))]);
    const after = a.cache.stats().misses + b.cache.stats().misses;
    expect(new Set(results.map((result) => JSON.stringify(result.rows))).size).toBe(1);
    expect(after - before).toBe(1);
  });

  it('invalidates a tag and a key pattern on every instance', async () => {
    await a.query('SELECT label FROM item WHERE id = 5', [], { cache: { tags: ['t5'] } });
    await b.query('SELECT label FROM item WHERE id = 5', [], { cache: { tags: ['t5'] } });
    await a.driver.query("UPDATE item SET label = 'renamed' WHERE id = 5");
    await a.cache.invalidateTag('t5');
    expect((await b.query('SELECT label FROM item WHERE id = 5')).rows).toEqual([{ label: 'renamed' }]);
    await b.query('SELECT label FROM item WHERE id = 6');
    await b.driver.query("UPDATE item SET label = 'renamed 6' WHERE id = 6");
    await a.cache.invalidatePattern('*item WHERE id = 6*');
    expect((await b.query('SELECT label FROM item WHERE id = 6')).rows).toEqual([{ label: 'renamed 6' }]);
  });

  it('keeps L3 entries across a restart and serves them while Redis says nothing changed', async () => {
    const first = await createOptimizer({ ...options(), cache: { changeCapture: false, l3Path: l3Dir } });
    await first.query(byId, [7]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await first.close();
    await a.cache.invalidatePattern('*');
    const second = await createOptimizer({ ...options(), cache: { changeCapture: false, l3Path: l3Dir } });
    try {
      expect((await second.query(byId, [7])).rows).toEqual([{ label: 'item 7', qty: 7 }]);
      expect(second.cache.stats().l3!.hits).toBe(1);
      await a.query('UPDATE item SET qty = 70 WHERE id = 7');
      second.cache.memory.clear();
      expect((await second.query(byId, [7])).rows).toEqual([{ label: 'item 7', qty: 70 }]);
    } finally {
      await second.close();
    }
  });

  it('never serves an L3 entry after a restart without Redis (writes meanwhile could not be known)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qopt-l3-local-'));
    try {
      const first = await createOptimizer({ database: { url: schema.url }, cache: { changeCapture: false, l3Path: dir } });
      await first.query(byId, [8]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await first.close();
      await a.driver.query('UPDATE item SET qty = 80 WHERE id = 8');
      const second = await createOptimizer({ database: { url: schema.url }, cache: { changeCapture: false, l3Path: dir } });
      expect((await second.query(byId, [8])).rows).toEqual([{ label: 'item 8', qty: 80 }]);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
