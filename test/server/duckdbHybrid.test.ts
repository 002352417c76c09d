import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runElsewhere } from '../support/postgres.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from '../../src/db/driver.js';
import { StaleCopyError } from '../../src/db/duckdbDriver.js';
import { syncTablesToDuckDb } from '../../src/db/duckdbSync.js';
import { openDriver } from '../../src/db/openDriver.js';
import { startTestService } from './support.js';
import type { TestService } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'qopt-hybrid-'));
const DUCKDB_PATH = join(dir, 'analytics.duckdb');

/** Waits until PostgreSQL's statistics count `updates` updates of `table`: its generation stamp has stopped moving. */
async function untilPublished(driver: Driver, table: string, updates: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    const { rows } = await driver.query<{ n: string }>('SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relid = to_regclass($1)', [table]);
    if (Number(rows[0]?.n ?? 0) >= updates) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`PostgreSQL did not publish ${updates} updates of ${table} within 30 s`);
}

const byRegion = (region: string) => ({
  postgresql: { sql: 'SELECT name AS region, manager FROM regions WHERE name = $1', params: [region] },
  duckdb: { sql: 'SELECT region, count(*) AS sales, sum(amount) AS total FROM sales WHERE region = $1 GROUP BY region', params: [region] },
  combine: (left: Array<Record<string, unknown>>, right: Array<Record<string, unknown>>) => left.map((row) => ({ ...row, ...right[0] })),
});

describe('hybrid results in the result cache', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database: { duckdbPath: DUCKDB_PATH } }, 'qopt_hyb');
    await runElsewhere(
      service.schema.url,
      `CREATE TABLE sales (id bigint PRIMARY KEY, region text NOT NULL, amount bigint NOT NULL);
       INSERT INTO sales SELECT i, (ARRAY['north','south','east','west'])[i % 4 + 1], i FROM generate_series(1, 400) AS i;
       CREATE TABLE regions (name text PRIMARY KEY, manager text NOT NULL);
       INSERT INTO regions VALUES ('north', 'Ana'), ('south', 'Bo'), ('east', 'Cy'), ('west', 'Di');`,
    );
    await syncTablesToDuckDb(service.qo.driver, DUCKDB_PATH, ['sales']);
  });

  afterAll(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a second identical qo.hybrid call from the cache, with the same rows, neither side running', async () => {
    const first = await service.qo.hybrid(byRegion('north'));
    expect(first.cache).toBe('miss');
    const hitsBefore = service.qo.cache.stats().l1.hits;
    const second = await service.qo.hybrid(byRegion('north'));
    expect(second.cache).toBe('hit');
    expect(service.qo.cache.stats().l1.hits).toBe(hitsBefore + 1);
    expect(second.combined).toEqual([{ region: 'north', manager: 'Ana', sales: '100', total: '20200' }]);
    expect(second.executionTimeMs).toMatchObject({ postgresql: 0, duckdb: 0 });
    expect(second.duckdb.freshness.map((entry) => [entry.table, entry.fresh])).toEqual([['sales', true]]);
    // Other parameters are another entry.
    expect((await service.qo.hybrid(byRegion('south'))).cache).toBe('miss');
  });

  it('answers a second identical POST /query/hybrid from the cache, keyed by the combine mode too', async () => {
    const body = (combine: unknown) => ({ ...byRegion('east'), combine });
    const send = async (combine: unknown) => (await (await service.request('POST', '/api/v1/query/hybrid', { body: body(combine) })).json()) as { cache: string; combined: unknown };
    expect((await send({ join_on: 'region' })).cache).toBe('miss');
    const hit = await send({ join_on: 'region' });
    expect(hit).toMatchObject({ cache: 'hit', combined: [{ region: 'east', manager: 'Cy', sales: '100' }] });
    const concat = await send('concat');
    expect(concat.cache).toBe('miss');
    expect(concat.combined).toHaveLength(2);
  });

  it('bypasses the cache with cache: false', async () => {
    await service.qo.hybrid(byRegion('west'));
    const hitsBefore = service.qo.cache.stats().l1.hits;
    const bypassed = await service.qo.hybrid({ ...byRegion('west'), cache: false });
    expect(bypassed.cache).toBe('bypass');
    expect(bypassed.executionTimeMs.duckdb).toBeGreaterThan(0);
    expect(service.qo.cache.stats().l1.hits).toBe(hitsBefore);
    const http = await service.request('POST', '/api/v1/query/hybrid', { body: { ...byRegion('west'), combine: 'concat', cache: false } });
    const answer: unknown = await http.json();
    expect(answer).toMatchObject({ cache: 'bypass' });
    service.parseAnswer('POST', '/api/v1/query/hybrid', answer);
  });

  it('misses after a write through qopt to the PostgreSQL side\'s table', async () => {
    expect((await service.qo.hybrid(byRegion('north'))).cache).toBe('hit');
    await service.qo.query("UPDATE regions SET manager = 'Ed' WHERE name = 'north'");
    const after = await service.qo.hybrid(byRegion('north'));
    expect(after.cache).toBe('miss');
    expect(after.combined).toEqual([{ region: 'north', manager: 'Ed', sales: '100', total: '20200' }]);
  });

  it('misses after a write through qopt to the source table of the DuckDB side\'s copy', async () => {
    expect((await service.qo.hybrid(byRegion('south'))).cache).toBe('hit');
    await service.qo.query('UPDATE sales SET amount = 0 WHERE id = $1', [1]);
    // Most likely the same pooled connection: have it publish its write counts when idle, not ~10 s later.
    await service.qo.driver.query('SELECT pg_stat_force_next_flush()');
    // The copy is now older than PostgreSQL: run it anyway to see the cache miss.
    expect((await service.qo.hybrid({ ...byRegion('south'), allowStale: true })).cache).toBe('miss');
  });

  it('serves a re-sync from another driver while it runs: the next call reads the new file, fresh, and misses the cache', async () => {
    const old = await service.qo.duckdb();
    // Sale 2 is in 'east'; the write makes the copy stale.
    await runElsewhere(service.schema.url, 'UPDATE sales SET amount = 1000000 WHERE id = 2');
    await expect(service.qo.hybrid(byRegion('east'))).rejects.toBeInstanceOf(StaleCopyError);
    const stale = await service.request('POST', '/api/v1/query/hybrid', { body: { ...byRegion('east'), combine: 'none' } });
    expect(stale.status).toBe(409);

    const second = await openDriver(service.schema.url);
    try {
      // The earlier UPDATE through the service's pool is counted when that backend publishes its statistics
      // (late, when it goes idle): a copy stamped before that would look stale once the count arrives.
      await untilPublished(second, 'sales', 2);
      await syncTablesToDuckDb(second, DUCKDB_PATH, ['sales']);
    } finally {
      await second.close();
    }
    const after = await service.qo.hybrid(byRegion('east'));
    expect(after.duckdb.freshness.map((entry) => [entry.table, entry.fresh])).toEqual([['sales', true]]);
    expect(after.cache).toBe('miss');
    expect(after.combined).toEqual([{ region: 'east', manager: 'Cy', sales: '100', total: String(20_000 - 2 + 1_000_000) }]);
    const http = await service.request('POST', '/api/v1/query/hybrid', { body: { ...byRegion('east'), combine: 'none' } });
    expect(http.status).toBe(200);
    // The replaced driver closed once idle; the sync left nothing beside the file.
    expect(old.isClosed).toBe(true);
    expect(await service.qo.duckdb()).not.toBe(old);
    expect(readdirSync(dir)).toEqual(['analytics.duckdb']);
  });

  it('refuses a second sync of the same file while one runs', async () => {
    const syncs = [syncTablesToDuckDb(service.qo.driver, DUCKDB_PATH, ['sales']), syncTablesToDuckDb(service.qo.driver, DUCKDB_PATH, ['sales'])];
    const outcomes = await Promise.allSettled(syncs);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(String((outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/another qopt duckdb sync/);
    expect((await service.qo.hybrid(byRegion('east'))).duckdb.freshness[0]!.fresh).toBe(true);
  });
});
