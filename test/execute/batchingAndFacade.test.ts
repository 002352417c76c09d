import { drizzle } from 'drizzle-orm/node-postgres';
import { eq } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer, SqlAnalysis } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

interface ItemTable {
  id: number;
  name: string;
  grp: number;
}

const items = pgTable('items', { id: integer('id').primaryKey(), name: text('name').notNull(), grp: integer('grp').notNull() });

/** Calls recorded under the fingerprint of `sql` (the class of statements the monitor groups it with). */
function countFor(qo: Optimizer, sql: string): number {
  const fingerprint = qo.analyze(sql).fingerprint;
  return qo.recorder.snapshot().find((stats) => stats.fingerprint === fingerprint)?.calls ?? 0;
}

describe('batching and the pg.Pool facade on a real PostgreSQL', () => {
  let schema: TestSchema;
  let qo: Optimizer;
  const committed: SqlAnalysis[][] = [];

  beforeAll(async () => {
    schema = await createTestSchema('qopt_facade');
    qo = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 4 } });
    await qo.query('CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, grp int NOT NULL)');
    await qo.query("INSERT INTO items SELECT i, 'item ' || i, i % 7 FROM generate_series(1, 200) AS i");
    qo.onCommittedWrites((writes) => {
      committed.push([...writes]);
    });
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it('turns 100 loader.load calls in one tick into one query with the right rows for each key', async () => {
    const loader = qo.loader('items', 'id', { columns: ['name'] });
    const before = qo.executor.metrics().completed;
    const keys = Array.from({ length: 100 }, (_, index) => index + 1);
    const results = await Promise.all(keys.map((key) => loader.load(key)));
    expect(qo.executor.metrics().completed - before).toBe(1);
    expect(results.map((rows) => rows[0]!.name)).toEqual(keys.map((key) => `item ${key}`));
    expect(countFor(qo, 'SELECT "id", "name" FROM "items" WHERE "id" = ANY($1)')).toBe(1);
  });

  it('gives an empty list for a key with no row and reads fresh data on a later tick', async () => {
    const loader = qo.loader('items', 'id');
    expect(await loader.load(9999)).toEqual([]);
    await qo.query("UPDATE items SET name = 'renamed' WHERE id = 1");
    expect((await loader.load(1))[0]!.name).toBe('renamed');
    await qo.query("UPDATE items SET name = 'item 1' WHERE id = 1");
  });

  it('runs identical concurrent reads once', async () => {
    const before = qo.executor.metrics();
    const results = await Promise.all(Array.from({ length: 10 }, () => qo.query('SELECT count(*) AS n FROM items WHERE grp = $1', [3])));
    const after = qo.executor.metrics();
    expect(new Set(results.map((result) => result.rows[0]!.n)).size).toBe(1);
    expect(after.deduplicated - before.deduplicated).toBe(9);
    expect(after.completed - before.completed).toBe(1);
  });

  it('runs Kysely queries and transactions through qo.pool, monitored, with writes reported after COMMIT', async () => {
    const insertsBefore = countFor(qo, 'insert into "items" ("id", "name", "grp") values ($1, $2, $3)');
    const db = new Kysely<{ items: ItemTable }>({ dialect: new PostgresDialect({ pool: qo.pool as unknown as pg.Pool }) });
    const row = await db.selectFrom('items').select(['id', 'name']).where('id', '=', 5).executeTakeFirstOrThrow();
    expect(row).toEqual({ id: 5, name: 'item 5' });
    committed.length = 0;
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: 1001, name: 'kysely', grp: 1 }).execute();
      expect(committed).toEqual([]);
    });
    expect(committed.flat().map((write) => write.writeTables)).toEqual([['items']]);
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ id: 1002, name: 'rolled back', grp: 1 }).execute();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(committed).toHaveLength(1);
    expect(countFor(qo, 'insert into "items" ("id", "name", "grp") values ($1, $2, $3)') - insertsBefore).toBe(2);
    await db.destroy();
    expect((await qo.query('SELECT count(*) AS n FROM items WHERE id IN (1001, 1002)')).rows[0]!.n).toBe('1');
  });

  it('runs Drizzle (node-postgres driver) selects, inserts and transactions through qo.pool', async () => {
    const db = drizzle(qo.pool as unknown as pg.Pool);
    const rows = await db.select({ id: items.id, name: items.name }).from(items).where(eq(items.id, 7));
    expect(rows).toEqual([{ id: 7, name: 'item 7' }]);
    await db.transaction(async (tx) => {
      await tx.insert(items).values({ id: 2001, name: 'drizzle', grp: 2 });
    });
    const inserted = await db.select().from(items).where(eq(items.id, 2001));
    expect(inserted).toEqual([{ id: 2001, name: 'drizzle', grp: 2 }]);
    expect(countFor(qo, 'select "id", "name", "grp" from "items" where "items"."id" = $1')).toBeGreaterThanOrEqual(1);
  });

  it('streams rows through a cursor and closes it when the consumer stops early', async () => {
    let seen = 0;
    for await (const row of qo.stream<{ g: number }>('SELECT g FROM generate_series(1, 100000) AS g')) {
      seen += 1;
      if (row.g === 2500) break;
    }
    expect(seen).toBe(2500);
    expect(qo.executor.metrics().active).toBe(0);
    expect((await qo.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('refuses a result over the row limit with ResultTooLargeError', async () => {
    const small = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 1 }, executor: { maxResultRows: 50 } });
    try {
      await expect(small.query('SELECT * FROM items')).rejects.toMatchObject({ code: 'RESULT_TOO_LARGE' });
      let streamed = 0;
      for await (const _row of small.stream('SELECT * FROM items')) streamed += 1;
      expect(streamed).toBeGreaterThan(50);
    } finally {
      await small.close();
    }
  });
});
