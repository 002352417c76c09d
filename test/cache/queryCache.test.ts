import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

let schema: TestSchema;
let qo: Optimizer;

beforeAll(async () => {
  schema = await createTestSchema('qopt_cache');
  qo = await createOptimizer({ database: { url: schema.url }, cache: { changeCapture: false } });
  await qo.query('CREATE TABLE t (id int PRIMARY KEY, a text, b int, c int)');
  await qo.query('CREATE TABLE u (id int PRIMARY KEY, t_id int, note text)');
});

afterAll(async () => {
  await qo.close();
  await schema.drop();
});

beforeEach(async () => {
  await qo.query('TRUNCATE t, u');
  await qo.query("INSERT INTO t SELECT g, 'a' || g, g, g FROM generate_series(1, 20) g");
  await qo.query("INSERT INTO u SELECT g, g, 'n' || g FROM generate_series(1, 20) g");
  await qo.cache.invalidateAll();
});

const byId = 'SELECT a, b FROM t WHERE id = $1';

describe('QueryCache on PostgreSQL (L1)', () => {
  it('serves a repeated read from L1 as the same frozen object', async () => {
    const first = await qo.query(byId, [3]);
    const hitsBefore = qo.cache.stats().l1.hits;
    const second = await qo.query(byId, [3]);
    expect(second).toBe(first);
    expect(Object.isFrozen(second.rows[0])).toBe(true);
    expect(qo.cache.stats().l1.hits).toBe(hitsBefore + 1);
  });

  it('keys by constants and LIMIT/OFFSET, which the fingerprint ignores', async () => {
    const page1 = await qo.query('SELECT id FROM t ORDER BY id LIMIT 5');
    const page2 = await qo.query('SELECT id FROM t ORDER BY id LIMIT 5 OFFSET 5');
    expect(page1.rows.map((row) => row.id)).toEqual([1, 2, 3, 4, 5]);
    expect(page2.rows.map((row) => row.id)).toEqual([6, 7, 8, 9, 10]);
    expect((await qo.query("SELECT b FROM t WHERE a = 'a4'")).rows).toEqual([{ b: 4 }]);
    expect((await qo.query("SELECT b FROM t WHERE a = 'a9'")).rows).toEqual([{ b: 9 }]);
  });

  it('serves no stale row after a committed update of that row', async () => {
    expect((await qo.query(byId, [5])).rows).toEqual([{ a: 'a5', b: 5 }]);
    await qo.query('UPDATE t SET b = 500 WHERE id = $1', [5]);
    expect((await qo.query(byId, [5])).rows).toEqual([{ a: 'a5', b: 500 }]);
  });

  it('keeps a cached row when another row of the same table is updated by primary key', async () => {
    await qo.query('SELECT a FROM t WHERE id = 7');
    const hits = qo.cache.stats().l1.hits;
    await qo.query('UPDATE t SET b = 1 WHERE id = 5');
    await qo.query('SELECT a FROM t WHERE id = 7');
    expect(qo.cache.stats().l1.hits).toBe(hits + 1);
  });

  it('keeps a cached result when only columns it does not read are updated', async () => {
    const sql = 'SELECT id, a FROM t WHERE b > 3 ORDER BY id';
    await qo.query(sql);
    const hits = qo.cache.stats().l1.hits;
    await qo.query('UPDATE t SET c = c + 1');
    await qo.query(sql);
    expect(qo.cache.stats().l1.hits).toBe(hits + 1);
    await qo.query('UPDATE t SET a = upper(a) WHERE id = 4');
    expect((await qo.query(sql)).rows[0]).toEqual({ id: 4, a: 'A4' });
  });

  it('invalidates by row when the key is a bound parameter, and by table when an update moves the key', async () => {
    await qo.query(byId, [8]);
    await qo.query('UPDATE t SET id = 8 WHERE id = 30');
    await qo.query('DELETE FROM t WHERE id = $1', [8]);
    expect((await qo.query(byId, [8])).rows).toEqual([]);
    await qo.query('UPDATE t SET id = 8 WHERE id = 9');
    expect((await qo.query(byId, [8])).rows).toEqual([{ a: 'a9', b: 9 }]);
  });

  it('invalidates a join when either table changes', async () => {
    const sql = 'SELECT t.a, u.note FROM t JOIN u ON u.t_id = t.id WHERE t.id = $1';
    expect((await qo.query(sql, [2])).rows).toEqual([{ a: 'a2', note: 'n2' }]);
    await qo.query("UPDATE u SET note = 'changed' WHERE id = 2");
    expect((await qo.query(sql, [2])).rows).toEqual([{ a: 'a2', note: 'changed' }]);
  });

  it('does not invalidate on a rolled-back transaction, invalidates after COMMIT, and reads inside bypass the cache', async () => {
    await qo.query(byId, [1]);
    const hits = qo.cache.stats().l1.hits;
    await expect(
      qo.transaction(async (tx) => {
        await tx.query('UPDATE t SET b = 99 WHERE id = 1');
        expect((await tx.query(byId, [1])).rows).toEqual([{ a: 'a1', b: 99 }]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await qo.query(byId, [1])).rows).toEqual([{ a: 'a1', b: 1 }]);
    expect(qo.cache.stats().l1.hits).toBe(hits + 1);
    await qo.transaction(async (tx) => {
      await tx.query('UPDATE t SET b = 98 WHERE id = 1');
    });
    expect((await qo.query(byId, [1])).rows).toEqual([{ a: 'a1', b: 98 }]);
  });

  it('never stores a result read before a write that committed while the read ran (stale-set race)', async () => {
    const analysis = qo.analyze(byId);
    const raced = await qo.cache.read(analysis, [6], undefined, async () => {
      const old = await qo.driver.query(byId, [6]);
      await qo.query('UPDATE t SET b = 600 WHERE id = 6');
      return old;
    });
    expect(raced.rows).toEqual([{ a: 'a6', b: 6 }]);
    expect(qo.cache.stats().storesRefused).toBeGreaterThan(0);
    expect((await qo.query(byId, [6])).rows).toEqual([{ a: 'a6', b: 600 }]);
  });

  it('runs N concurrent identical misses once (single-flight)', async () => {
    const before = qo.cache.stats();
    const results = await Promise.all(Array.from({ length: 10 }, () => qo.query('SELECT count(*) AS n FROM t WHERE b < $1', [10])));
    const after = qo.cache.stats();
    expect(new Set(results).size).toBe(1);
    expect(after.misses - before.misses).toBe(1);
    expect(after.coalesced - before.coalesced).toBe(9);
  });

  it('invalidates by tag and by key pattern, and bypasses with cache: false', async () => {
    await qo.query('SELECT a FROM t WHERE id = 11', [], { cache: { tags: ['sheet-1'] } });
    await qo.query('SELECT a FROM t WHERE id = 12');
    await qo.driver.query("UPDATE t SET a = 'x' WHERE id IN (11, 12)");
    expect((await qo.query('SELECT a FROM t WHERE id = 11')).rows).toEqual([{ a: 'a11' }]);
    expect((await qo.query('SELECT a FROM t WHERE id = 11', [], { cache: false })).rows).toEqual([{ a: 'x' }]);
    await qo.cache.invalidateTag('sheet-1');
    expect((await qo.query('SELECT a FROM t WHERE id = 11')).rows).toEqual([{ a: 'x' }]);
    expect((await qo.query('SELECT a FROM t WHERE id = 12')).rows).toEqual([{ a: 'a12' }]);
    expect(await qo.cache.invalidatePattern('*id = 12*')).toBe(1);
    expect((await qo.query('SELECT a FROM t WHERE id = 12')).rows).toEqual([{ a: 'x' }]);
  });

  it('invalidates by table for writes made around qopt when told', async () => {
    await qo.query(byId, [13]);
    await qo.driver.query('UPDATE t SET b = 1300 WHERE id = 13');
    await qo.cache.invalidateTables(['t']);
    expect((await qo.query(byId, [13])).rows).toEqual([{ a: 'a13', b: 1300 }]);
  });

  it('serves stale-while-revalidate after the TTL, but never across a committed write', async () => {
    const options = { cache: { ttlSeconds: 1, staleWhileRevalidateSeconds: 60 } };
    await qo.query(byId, [14], options);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await qo.driver.query('UPDATE t SET b = 1400 WHERE id = 14');
    const stale = await qo.query(byId, [14], options);
    expect(stale.rows).toEqual([{ a: 'a14', b: 14 }]);
    expect(qo.cache.stats().staleServed).toBeGreaterThan(0);
    await qo.query(byId, [15], options);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await qo.query('UPDATE t SET b = 1500 WHERE id = 15');
    expect((await qo.query(byId, [15], options)).rows).toEqual([{ a: 'a15', b: 1500 }]);
  });

  it('warms up from a list of queries', async () => {
    expect(await qo.cache.warmUp([{ sql: byId, params: [16] }, { sql: byId, params: [17] }])).toBe(2);
    const hits = qo.cache.stats().l1.hits;
    await qo.query(byId, [16]);
    await qo.query(byId, [17]);
    expect(qo.cache.stats().l1.hits).toBe(hits + 2);
  });
});
