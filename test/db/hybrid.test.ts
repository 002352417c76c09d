import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTableGenerations } from '../../src/cache/tableGenerations.js';
import { DuckDbDriver, StaleCopyError, SYNC_TABLE } from '../../src/db/duckdbDriver.js';
import { copyFreshness, syncTablesToDuckDb } from '../../src/db/duckdbSync.js';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import { createTestSchema, runElsewhere } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { dropRedisPrefix, REDIS_URL, redisPrefix } from '../cache/support.js';

const totals = {
  postgresql: { sql: 'SELECT count(*) AS n FROM sales' },
  duckdb: { sql: 'SELECT sum(amount) AS total FROM sales' },
};

// A write PostgreSQL's statistics never count (track_counts off for its transaction): what a write looks like
// to the stamp until its backend publishes its counts, up to seconds later.
async function writeUncounted(qo: Optimizer, sql: string): Promise<void> {
  await qo.transaction(async (tx) => {
    await tx.query('SET LOCAL track_counts = off');
    await tx.query(sql);
  });
}

describe('a DuckDB copy is stale as soon as the result cache sees a write to its source table', () => {
  let schema: TestSchema;
  let dir: string;
  let qo: Optimizer;
  let path: string;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_hybrid_gen');
    dir = mkdtempSync(join(tmpdir(), 'qopt-hybrid-gen-'));
    path = join(dir, 'analytics.duckdb');
    // Another session that ends: its counts are published at once, so the stamp taken by the sync stays put.
    await runElsewhere(schema.url, 'CREATE TABLE sales (id int PRIMARY KEY, amount int NOT NULL); INSERT INTO sales SELECT i, i FROM generate_series(1, 100) i');
    qo = await createOptimizer({ database: { url: schema.url, duckdbPath: path }, cache: { changeCapture: false, warmUpIntervalSeconds: 0 } });
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const syncWithCache = () => syncTablesToDuckDb(qo.driver, path, ['sales'], () => {}, { generations: (tables) => readTableGenerations(qo.cache, tables) });

  it('records the cache generation of each table with the copy', async () => {
    const report = await syncWithCache();
    expect(report.tables[0]!.cacheGeneration).toMatch(/^local:/);
    const result = await qo.hybrid(totals);
    expect(result.duckdb.freshness).toMatchObject([{ table: 'sales', fresh: true, syncedGeneration: report.tables[0]!.cacheGeneration }]);
  });

  it('refuses the copy after a write PostgreSQL has not counted yet, which its stamp alone misses', async () => {
    await syncWithCache();
    const { rows } = await qo.driver.query<{ stamp: string }>("SELECT relfilenode || ':' || n_tup_upd AS stamp FROM pg_class JOIN pg_stat_all_tables ON relid = oid WHERE oid = 'sales'::regclass");
    await writeUncounted(qo, 'UPDATE sales SET amount = amount + 1 WHERE id = 2');
    const result = await qo.hybrid({ ...totals, allowStale: true });
    expect(result.duckdb.freshness[0]).toMatchObject({ fresh: false });
    expect(result.duckdb.freshness[0]!.syncedGeneration).not.toBe(result.duckdb.freshness[0]!.currentGeneration);
    // PostgreSQL's own stamp did not move: only the cache's generation told.
    const after = await qo.driver.query<{ stamp: string }>("SELECT relfilenode || ':' || n_tup_upd AS stamp FROM pg_class JOIN pg_stat_all_tables ON relid = oid WHERE oid = 'sales'::regclass");
    expect(after.rows[0]!.stamp).toBe(rows[0]!.stamp);
  });

  it('falls back to PostgreSQL’s stamp alone when the sync could read no generation', async () => {
    const report = await syncTablesToDuckDb(qo.driver, path, ['sales']);
    expect(report.tables[0]!.cacheGeneration).toBeNull();
    await writeUncounted(qo, 'UPDATE sales SET amount = amount + 1 WHERE id = 3');
    expect((await qo.hybrid(totals)).duckdb.freshness).toMatchObject([{ fresh: true, syncedGeneration: null }]);
  });

  it('reads a file an older qopt wrote (no cache_generation column), and a re-sync adds the column', async () => {
    const older = join(dir, 'older.duckdb');
    await syncTablesToDuckDb(qo.driver, older, ['sales']);
    const writer = await DuckDbDriver.open(older);
    await writer.exec(`ALTER TABLE ${SYNC_TABLE} DROP COLUMN cache_generation; CHECKPOINT`);
    await writer.close();
    const reader = await DuckDbDriver.open(older, { readOnly: true });
    try {
      const synced = await reader.syncedTables();
      expect(synced).toMatchObject([{ table: 'sales', cacheGeneration: null }]);
      expect(await copyFreshness(qo.driver, synced, (tables) => readTableGenerations(qo.cache, tables))).toMatchObject([{ fresh: true }]);
    } finally {
      await reader.close();
    }
    const report = await syncTablesToDuckDb(qo.driver, older, ['sales'], () => {}, { generations: (tables) => readTableGenerations(qo.cache, tables) });
    const resynced = await DuckDbDriver.open(older, { readOnly: true });
    try {
      expect(await resynced.syncedTables()).toMatchObject([{ table: 'sales', cacheGeneration: report.tables[0]!.cacheGeneration }]);
    } finally {
      await resynced.close();
    }
  });

  // Last: PostgreSQL publishes this write's counts some time later, which would move the stamp under later tests.
  it('refuses the copy right after a write through qo.query, without waiting for pg_stat', async () => {
    await syncWithCache();
    await qo.query('UPDATE sales SET amount = amount + 1 WHERE id = $1', [1]);
    await expect(qo.hybrid(totals)).rejects.toBeInstanceOf(StaleCopyError);
  });
});

describe('with Redis, a copy synced by another process is stale as soon as a write goes through any instance', () => {
  let schema: TestSchema;
  let dir: string;
  let prefix: string;
  let service: Optimizer;
  let syncer: Optimizer;
  let path: string;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_hybrid_redis');
    dir = mkdtempSync(join(tmpdir(), 'qopt-hybrid-redis-'));
    path = join(dir, 'analytics.duckdb');
    prefix = redisPrefix();
    await runElsewhere(schema.url, 'CREATE TABLE sales (id int PRIMARY KEY, amount int NOT NULL); INSERT INTO sales SELECT i, i FROM generate_series(1, 100) i');
    const options = { database: { url: schema.url, duckdbPath: path }, redis: { url: REDIS_URL, keyPrefix: prefix, commandTimeoutMs: 2000 }, cache: { changeCapture: false, warmUpIntervalSeconds: 0 } };
    service = await createOptimizer(options);
    // What `qopt duckdb sync` opens: a cache of its own on the same Redis.
    syncer = await createOptimizer(options);
  });

  afterAll(async () => {
    await service.close();
    await syncer.close();
    await schema.drop();
    await dropRedisPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('records the shared generation, and the service sees a write through it at once', async () => {
    const report = await syncTablesToDuckDb(syncer.driver, path, ['sales'], () => {}, { generations: (tables) => readTableGenerations(syncer.cache, tables) });
    expect(report.tables[0]!.cacheGeneration).toMatch(/^redis:/);
    expect((await service.hybrid(totals)).duckdb.freshness).toMatchObject([{ fresh: true }]);
    await writeUncounted(service, 'UPDATE sales SET amount = 0 WHERE id = 1');
    await expect(service.hybrid(totals)).rejects.toBeInstanceOf(StaleCopyError);
  });
});
