import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncTablesToDuckDb } from '../../src/db/duckdbSync.js';
import { startTestService } from './support.js';
import type { TestService } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'qopt-hybrid-'));
const DUCKDB_PATH = join(dir, 'analytics.duckdb');

/** Runs SQL on a connection of its own and publishes its statistics at once (as PostgreSQL does within a second). */
async function runElsewhere(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
    await client.query('SELECT pg_stat_force_next_flush()');
  } finally {
    await client.end();
  }
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
    expect(await http.json()).toMatchObject({ cache: 'bypass' });
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
    // The copy is now older than PostgreSQL: run it anyway to see the cache miss.
    expect((await service.qo.hybrid({ ...byRegion('south'), allowStale: true })).cache).toBe('miss');
  });
});
