import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runElsewhere } from '../support/postgres.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbDriver, DuckDbStatementRefusedError, DuckDbTimeoutError, StaleCopyError } from '../../src/db/duckdbDriver.js';
import { copyFreshness, syncTablesToDuckDb } from '../../src/db/duckdbSync.js';
import { startTestService } from './support.js';
import type { TestService } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'qopt-duckdb-'));
const DUCKDB_PATH = join(dir, 'analytics.duckdb');
/** The operator's statement timeout of POST /query, which the DuckDB side of /query/hybrid obeys too. */
const TIMEOUT_MS = 1000;

describe('DuckDB analytics copy and hybrid queries', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database: { duckdbPath: DUCKDB_PATH }, server: { queryStatementTimeoutMs: TIMEOUT_MS } }, 'qopt_srvd');
    await runElsewhere(
      service.schema.url,
      `CREATE TABLE accounts (id bigint PRIMARY KEY, region text NOT NULL, opened date NOT NULL, balance numeric(12,2), active boolean, note text);
       INSERT INTO accounts SELECT i, (ARRAY['north','south','east'])[i % 3 + 1], date '2024-01-01' + i, i * 1.25, i % 2 = 0,
         CASE WHEN i % 10 = 0 THEN NULL ELSE 'note, "quoted" ' || i END FROM generate_series(1, 3000) AS i;
       CREATE TABLE regions (name text PRIMARY KEY, manager text NOT NULL);
       INSERT INTO regions VALUES ('north', 'Ana'), ('south', 'Bo'), ('east', 'Cy');`,
    );
    await syncTablesToDuckDb(service.qo.driver, DUCKDB_PATH, ['accounts', 'regions']);
  });

  afterAll(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies every row and value exactly (numeric and bigint as strings, NULLs, quotes and commas in text)', async () => {
    const duck = await DuckDbDriver.open(DUCKDB_PATH, { readOnly: true });
    try {
      const copy = await duck.query('SELECT id, region, opened, balance, active, note FROM accounts WHERE id IN (10, 11) ORDER BY id');
      expect(copy.rows).toEqual([
        { id: '10', region: 'south', opened: '2024-01-11', balance: '12.50', active: true, note: null },
        { id: '11', region: 'east', opened: '2024-01-12', balance: '13.75', active: false, note: 'note, "quoted" 11' },
      ]);
      const synced = await duck.syncedTables();
      expect(synced.map((entry) => [entry.table, entry.rows])).toEqual([
        ['accounts', 3000],
        ['regions', 3],
      ]);
    } finally {
      await duck.close();
    }
  });

  it('answers a hybrid query: both sides, combined by a join column', async () => {
    const result = await service.qo.hybrid({
      postgresql: { sql: 'SELECT name AS region, manager FROM regions ORDER BY name' },
      duckdb: { sql: 'SELECT region, count(*) AS accounts, sum(balance) AS total FROM accounts GROUP BY region ORDER BY region' },
      combine: (left, right) => left.map((row) => ({ ...row, ...right.find((other) => other.region === row.region) })),
    });
    expect(result.postgresql.rowCount).toBe(3);
    expect(result.duckdb.freshness.map((entry) => [entry.table, entry.fresh])).toEqual([['accounts', true]]);
    expect(result.combined).toEqual([
      { region: 'east', manager: 'Cy', accounts: '1000', total: expect.any(String) },
      { region: 'north', manager: 'Ana', accounts: '1000', total: expect.any(String) },
      { region: 'south', manager: 'Bo', accounts: '1000', total: expect.any(String) },
    ]);
  });

  it('serves the hybrid query over HTTP with a join_on combination', async () => {
    const response = await service.request('POST', '/api/v1/query/hybrid', {
      body: {
        postgresql: { sql: 'SELECT name AS region, manager FROM regions WHERE name = $1', params: ['north'] },
        duckdb: { sql: 'SELECT region, count(*) AS accounts FROM accounts GROUP BY region' },
        combine: { join_on: 'region' },
      },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ combined: [{ region: 'north', manager: 'Ana', accounts: '1000' }], postgresql: { row_count: 1 }, duckdb: { row_count: 3 } });
  });

  it('refuses a write on the PostgreSQL side of a hybrid query (400 on postgresql.sql) and needs a token (401)', async () => {
    const body = { postgresql: { sql: 'DELETE FROM regions' }, duckdb: { sql: 'SELECT 1' } };
    const refused = await service.request('POST', '/api/v1/query/hybrid', { body });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ field: 'postgresql.sql' });
    expect((await service.request('POST', '/api/v1/query/hybrid', { body, token: null })).status).toBe(401);
    const invalid = await service.request('POST', '/api/v1/query/hybrid', { body: { postgresql: { sql: 'SELECT 1' }, duckdb: {} } });
    expect(await invalid.json()).toMatchObject({ field: 'duckdb.sql' });
  });

  it('runs only one read-only SELECT on the DuckDB side over HTTP and in qo.hybrid: no script, COPY, file read or settings', async () => {
    const written = join(dir, 'written.csv');
    const send = (duckdb: string) => service.request('POST', '/api/v1/query/hybrid', { body: { postgresql: { sql: 'SELECT 1 AS one' }, duckdb: { sql: duckdb } } });
    for (const sql of [`COPY (SELECT 'client' AS x) TO '${written}'`, 'SELECT 1; SELECT 2', 'SET enable_external_access = true', `ATTACH '${join(dir, 'other.duckdb')}'`]) {
      const refused = await send(sql);
      expect(refused.status, sql).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'VALIDATION_FAILED', field: 'duckdb.sql' });
    }
    const fileRead = await send("SELECT content FROM read_text('/etc/hostname')");
    expect(fileRead.status).toBe(422);
    expect(((await fileRead.json()) as { message: string }).message).toMatch(/disabled by configuration/);
    expect(existsSync(written)).toBe(false);
    await expect(service.qo.hybrid({ postgresql: { sql: 'SELECT 1' }, duckdb: { sql: `COPY (SELECT 1) TO '${written}'` } })).rejects.toBeInstanceOf(DuckDbStatementRefusedError);
    expect(existsSync(written)).toBe(false);
  });

  it('interrupts the DuckDB side past the operator statement timeout (408, as POST /query) and keeps serving', async () => {
    const started = performance.now();
    const slow = await service.request('POST', '/api/v1/query/hybrid', {
      body: { postgresql: { sql: 'SELECT 1 AS one' }, duckdb: { sql: 'SELECT sum(range) AS s FROM range(3000000000)' } },
    });
    expect(slow.status).toBe(408);
    expect(await slow.json()).toMatchObject({ sql_state: '57014' });
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 3000);
    await expect(service.qo.hybrid({ postgresql: { sql: 'SELECT 1' }, duckdb: { sql: 'SELECT sum(range) AS s FROM range(3000000000)' }, timeoutMs: 100 })).rejects.toBeInstanceOf(DuckDbTimeoutError);
    const next = await service.request('POST', '/api/v1/query/hybrid', { body: { postgresql: { sql: 'SELECT 1 AS one' }, duckdb: { sql: 'SELECT count(*) AS n FROM regions' } } });
    expect(await next.json()).toMatchObject({ duckdb: { rows: [{ n: '3' }] } });
  });

  it('detects a stale copy after a committed write from another connection and refuses it (409) unless allowed', async () => {
    await runElsewhere(service.schema.url, "UPDATE accounts SET balance = 0 WHERE id = 1");
    const stale = await copyFreshness(service.qo.driver, await (await service.qo.duckdb()).syncedTables());
    expect(stale.find((entry) => entry.table === 'accounts')?.fresh).toBe(false);
    expect(stale.find((entry) => entry.table === 'regions')?.fresh).toBe(true);

    const request = { postgresql: { sql: 'SELECT 1 AS one' }, duckdb: { sql: 'SELECT count(*) AS n FROM accounts' } };
    await expect(service.qo.hybrid(request)).rejects.toBeInstanceOf(StaleCopyError);
    const http = await service.request('POST', '/api/v1/query/hybrid', { body: request });
    expect(http.status).toBe(409);
    const refusal = (await http.json()) as { message: string };
    expect(refusal).toMatchObject({ error: 'DUCKDB_STALE', tables: ['accounts'] });
    expect(refusal.message).toContain('"allow_stale": true');
    expect(refusal.message).not.toContain('allowStale');
    await expect(service.qo.hybrid(request)).rejects.toThrow('allowStale');
    // A statement with parameters, whose tables DuckDB's getTableNames does not report, is checked too.
    await expect(service.qo.hybrid({ ...request, duckdb: { sql: 'SELECT count(*) AS n FROM accounts WHERE id > $1', params: [0] } })).rejects.toBeInstanceOf(StaleCopyError);
    const allowed = await service.qo.hybrid({ ...request, allowStale: true });
    expect(allowed.duckdb.rows).toEqual([{ n: '3000' }]);
  });

  it('makes a stale copy fresh again by syncing it', async () => {
    // Another file, so this stale copy leaves the service's own alone (test/server/duckdbHybrid.test.ts re-syncs that one).
    const path = join(dir, 'resync.duckdb');
    await syncTablesToDuckDb(service.qo.driver, path, ['regions']);
    await runElsewhere(service.schema.url, "UPDATE regions SET manager = 'Di' WHERE name = 'east'");
    const freshness = async () => {
      const duck = await DuckDbDriver.open(path, { readOnly: true });
      try {
        return (await copyFreshness(service.qo.driver, await duck.syncedTables()))[0]!.fresh;
      } finally {
        await duck.close();
      }
    };
    expect(await freshness()).toBe(false);
    await syncTablesToDuckDb(service.qo.driver, path, ['regions']);
    expect(await freshness()).toBe(true);
  });

  it('sorts each copy by its first date column by default, by the columns asked, and refuses an unknown one', async () => {
    const path = join(dir, 'ordered.duckdb');
    const byDefault = await syncTablesToDuckDb(service.qo.driver, path, ['accounts', 'regions']);
    expect(byDefault.tables.map((table) => [table.table, table.orderedBy])).toEqual([
      ['accounts', ['opened']],
      ['regions', []],
    ]);
    const asked = await syncTablesToDuckDb(service.qo.driver, path, ['accounts'], () => {}, { orderBy: { accounts: ['region', 'id'] } });
    expect(asked.tables[0]!.orderedBy).toEqual(['region', 'id']);
    const duck = await DuckDbDriver.open(path, { readOnly: true });
    try {
      // DuckDB keeps insertion order: the copy's first rows are the first in the asked order.
      expect((await duck.query('SELECT region, id FROM accounts LIMIT 2')).rows).toEqual([
        { region: 'east', id: '2' },
        { region: 'east', id: '5' },
      ]);
    } finally {
      await duck.close();
    }
    await expect(syncTablesToDuckDb(service.qo.driver, path, ['accounts'], () => {}, { orderBy: { accounts: ['nope'] } })).rejects.toThrow('no such column');
  });
});
