import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlAnalysis } from '../../src/sql/analyze.js';
import { withClient } from '../support/postgres.js';
import { startTestService } from './support.js';
import type { TestService } from './support.js';

const ROLE = `qopt_reader_${randomBytes(3).toString('hex')}`;
const TIMEOUT_MS = 300;

const admin = withClient;

function parseNdjson(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

describe('POST /query', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ server: { queryRole: ROLE, queryStatementTimeoutMs: TIMEOUT_MS, queryMaxRows: 1000, dashboardMaxAgeMs: 0 } }, 'qopt_srvq');
    const schema = service.schema.name;
    await admin(async (client) => {
      await client.query(`CREATE ROLE ${ROLE} NOLOGIN`);
      await client.query(`CREATE TABLE ${schema}.visible (id int PRIMARY KEY, label text); INSERT INTO ${schema}.visible SELECT i, 'row ' || i FROM generate_series(1, 5) i`);
      await client.query(`CREATE TABLE ${schema}.hidden (id int PRIMARY KEY, secret text); INSERT INTO ${schema}.hidden VALUES (1, 'salary')`);
      await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${ROLE}; GRANT SELECT, INSERT ON ${schema}.visible TO ${ROLE}`);
      // A function that tries to lift the statement timeout from inside the statement, then sleeps.
      await client.query(`CREATE FUNCTION ${schema}.sneaky_sleep() RETURNS int LANGUAGE plpgsql AS $$
        BEGIN PERFORM set_config('statement_timeout', '0', true); PERFORM pg_sleep(10); RETURN 1; END $$`);
      await client.query(`GRANT EXECUTE ON FUNCTION ${schema}.sneaky_sleep() TO ${ROLE}`);
    });
  });

  afterAll(async () => {
    await service.close();
    await admin(async (client) => {
      await client.query(`DROP OWNED BY ${ROLE}`);
      await client.query(`DROP ROLE ${ROLE}`);
    });
  });

  const query = (body: unknown) => service.request('POST', '/api/v1/query', { body });

  it('runs under the operator-chosen role', async () => {
    const response = await query({ sql: 'SELECT current_user AS who, count(*)::int AS n FROM visible' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ rows: [{ who: ROLE, n: 5 }] });
  });

  it('answers 403 when that role may not read a table', async () => {
    const response = await query({ sql: 'SELECT secret FROM hidden' });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'QUERY_FAILED', sql_state: '42501' });
  });

  it.each([
    ['SET ROLE postgres', 'VariableSetStmt'],
    ['RESET ROLE', 'VariableSetStmt'],
    ['SET statement_timeout = 0', 'VariableSetStmt'],
    ["SELECT set_config('role', 'postgres', true)", 'set_config'],
    ["SELECT pg_catalog.set_config('statement_timeout', '0', true)", 'set_config'],
    ['COMMIT', 'TransactionStmt'],
    ['SELECT 1; SELECT 2', 'exactly one statement'],
    ["DO $$ BEGIN PERFORM 1; END $$", 'DoStmt'],
    ['COPY visible TO STDOUT', 'CopyStmt'],
    ["UPDATE pg_settings SET setting = '0' WHERE name = 'statement_timeout'", 'pg_settings'],
    ["WITH changed AS (UPDATE pg_catalog.pg_settings SET setting = 'pg_catalog' WHERE name = 'search_path' RETURNING 1) SELECT * FROM changed", 'pg_catalog.pg_settings'],
    ['SELECT 1 AS one INTO TEMP copied', 'SELECT … INTO'],
  ])('refuses %s with 400 on the sql field', async (sql, reason) => {
    const response = await query({ sql });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { field: string; reason: string };
    expect(body.field).toBe('sql');
    expect(body.reason).toContain(reason);
  });

  it('reports a SQL syntax error as 400 on the sql field with its position', async () => {
    const response = await query({ sql: 'SELEKT 1' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ field: 'sql', reason: expect.stringContaining('line 1, column 1') });
  });

  it('cancels a statement that runs past the operator timeout (408)', async () => {
    const response = await query({ sql: 'SELECT pg_sleep(5)' });
    expect(response.status).toBe(408);
    expect(await response.json()).toMatchObject({ sql_state: '57014' });
  });

  it('cannot lift its own timeout from inside the statement (a function calling set_config)', async () => {
    const response = await query({ sql: 'SELECT sneaky_sleep()' });
    expect(response.status).toBe(408);
  });

  it('leaves no role or timeout behind on the pooled connection', async () => {
    for (let i = 0; i < 4; i += 1) await query({ sql: 'SELECT 1' });
    const settings = await service.qo.driver.query<{ who: string; timeout: string }>("SELECT current_user AS who, current_setting('statement_timeout') AS timeout");
    expect(settings.rows[0]).toEqual({ who: 'postgres', timeout: '0' });
  });

  it('ends a failing stream with an error line', async () => {
    const response = await query({ sql: 'SELECT 1 / (i - 3) FROM generate_series(1, 5) AS i', stream: true });
    const lines = parseNdjson(await response.text());
    expect(lines.at(-1)).toMatchObject({ error: { code: 'QUERY_FAILED', message: expect.stringContaining('division by zero') } });
  });

  it('refuses a non-streamed result above the row limit with 413, telling to stream it', async () => {
    const response = await query({ sql: 'SELECT i FROM generate_series(1, 1001) AS i' });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { message: string }).message).toContain('"stream": true');
  });

  it('commits a write and reports it to the committed-write listeners (the cache invalidates from them)', async () => {
    const seen: SqlAnalysis[] = [];
    const stop = service.qo.onCommittedWrites((writes) => {
      seen.push(...writes);
    });
    try {
      const response = await query({ sql: 'INSERT INTO visible VALUES ($1, $2)', params: [6, 'six'] });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ row_count: 1, command: 'INSERT' });
      expect(seen.flatMap((write) => write.writeTables)).toContain('visible');
      const count = await service.qo.driver.query<{ n: number }>('SELECT count(*)::int AS n FROM visible');
      expect(count.rows[0]!.n).toBe(6);
    } finally {
      stop();
    }
  });

  it('records what it ran in the monitor, visible on the dashboard', async () => {
    await query({ sql: 'SELECT label FROM visible WHERE id = $1', params: [2] });
    const dashboard = (await (await service.request('GET', '/api/v1/performance/dashboard?limit=100')).json()) as { queries: Array<{ normalized: string; calls: number }> };
    expect(dashboard.queries.find((entry) => entry.normalized === 'SELECT label FROM visible WHERE id = $1')?.calls).toBe(1);
  });

  it('serves a repeated read from the result cache, and a write through /query invalidates it', async () => {
    const count = { sql: 'SELECT count(*)::int AS n FROM visible WHERE id > $1', params: [0] };
    const first = (await (await query(count)).json()) as { rows: Array<{ n: number }>; applied: { cache: string; priority: boolean } };
    expect(first.applied).toEqual({ priority: true, cache: 'miss' });
    const second = (await (await query(count)).json()) as { rows: Array<{ n: number }>; applied: { cache: string } };
    expect(second).toMatchObject({ rows: first.rows, applied: { cache: 'hit' } });
    expect((await query({ sql: 'INSERT INTO visible VALUES ($1, $2)', params: [900, 'new'] })).status).toBe(200);
    const third = (await (await query(count)).json()) as { rows: Array<{ n: number }>; applied: { cache: string } };
    expect(third).toMatchObject({ rows: [{ n: first.rows[0]!.n + 1 }], applied: { cache: 'miss' } });
    const bypass = (await (await query({ ...count, cache: false })).json()) as { applied: { cache: string } };
    expect(bypass.applied.cache).toBe('bypass');
  });

  it('never serves the operator role a result the application cached under its own role', async () => {
    const secret = 'SELECT secret FROM hidden WHERE id = $1';
    expect((await service.qo.query(secret, [1])).rows).toEqual([{ secret: 'salary' }]);
    expect(service.qo.cache.isCachedLocally(service.qo.analyze(secret), [1])).toBe(true);
    const response = await query({ sql: secret, params: [1] });
    expect(response.status).toBe(403);
  });
});

describe('POST /query streaming', () => {
  let service: TestService;

  beforeAll(async () => {
    // The statement timeout bounds the whole cursor, streaming included: this service allows a slow reader time.
    service = await startTestService({ server: { queryStatementTimeoutMs: 60_000 } }, 'qopt_srvs');
  });

  afterAll(async () => {
    await service.close();
  });

  const query = (body: unknown) => service.request('POST', '/api/v1/query', { body });

  it('streams a large result as NDJSON: fields, one array per row, totals', async () => {
    const response = await query({ sql: 'SELECT i, md5(i::text) AS hash FROM generate_series(1, 25000) AS i', stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = parseNdjson(await response.text());
    expect(lines).toHaveLength(25002);
    expect(lines[0]).toEqual({ fields: [{ name: 'i', data_type_id: 23 }, { name: 'hash', data_type_id: 25 }] });
    expect(lines[1]).toEqual([1, 'c4ca4238a0b923820dcc509a6f75849b']);
    expect(lines[25001]).toMatchObject({ rowCount: 25000 });
  });
});
