import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../support/postgres.js';
import { startTestService } from './support.js';
import type { TestService } from './support.js';

const ROLE = `qopt_clientsql_${randomBytes(3).toString('hex')}`;
const TIMEOUT_MS = 300;
const WARM_ROLE = `${ROLE}_w`;

const admin = withClient;

// Endpoints other than /query that run a client's statement run it as /query would: no more rights, no more time.
describe("client SQL outside /query runs under the operator's role and statement timeout", () => {
  let service: TestService;

  const post = (path: string, body: unknown) => service.request('POST', `/api/v1${path}`, { body });
  const cachedForApplication = (sql: string) => service.qo.cache.isCachedLocally(service.qo.analyze(sql), []);

  beforeAll(async () => {
    service = await startTestService({ server: { queryRole: ROLE, queryStatementTimeoutMs: TIMEOUT_MS }, cache: { warmUpIntervalSeconds: 0 } }, 'qopt_srvcsql');
    const schema = service.schema.name;
    await admin(async (client) => {
      await client.query(`CREATE ROLE ${ROLE} NOLOGIN`);
      await client.query(`CREATE TABLE ${schema}.visible (id int PRIMARY KEY, label text); INSERT INTO ${schema}.visible SELECT i, 'row ' || i FROM generate_series(1, 5) i`);
      await client.query(`CREATE TABLE ${schema}.hidden (id int PRIMARY KEY, secret text); INSERT INTO ${schema}.hidden VALUES (1, 'salary')`);
      await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${ROLE}; GRANT SELECT ON ${schema}.visible TO ${ROLE}`);
    });
  });

  afterAll(async () => {
    await service.close();
    await admin(async (client) => {
      await client.query(`DROP OWNED BY ${ROLE}`);
      await client.query(`DROP ROLE ${ROLE}`);
    });
  });

  it('optimize-query with analyze answers 403 on a table the /query role may not read', async () => {
    const response = await post('/optimization/optimize-query', { query: "SELECT count(*) FROM hidden WHERE secret = 'salary'", analyze: true, optimization_level: 2 });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ sql_state: '42501' });
  });

  it('optimize-query with analyze is cancelled at the /query statement timeout (408)', async () => {
    const response = await post('/optimization/optimize-query', { query: 'SELECT pg_sleep(5)', analyze: true, optimization_level: 2 });
    expect(response.status).toBe(408);
    expect(await response.json()).toMatchObject({ sql_state: '57014' });
  });

  it('optimize-query with analyze measures a table the /query role may read', async () => {
    const response = await post('/optimization/optimize-query', { query: 'SELECT label FROM visible WHERE id = $1', params: [2], analyze: true, optimization_level: 2 });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ plan: { analyzed: true, cost: { actualRows: 1 } } });
  });

  it('warm-up does not run or cache a read the /query role may not make', async () => {
    const secret = "SELECT secret FROM hidden WHERE secret = 'salary'";
    const response = await post('/cache/warm-up', { queries: [secret] });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ warmed: 0, results: [{ query: secret, status: 'failed', reason: expect.stringContaining('permission denied') }] });
    expect(cachedForApplication(secret)).toBe(false);
  });

  it('warm-up caches a read for /query: the next /query of it is served from the cache', async () => {
    const labels = 'SELECT label FROM visible WHERE id < 3 ORDER BY id';
    const warmed = await post('/cache/warm-up', { queries: [labels] });
    expect(await warmed.json()).toMatchObject({ warmed: 1, results: [{ query: labels, status: 'cached' }] });
    const response = await post('/query', { sql: labels });
    expect(await response.json()).toMatchObject({ rows: [{ label: 'row 1' }, { label: 'row 2' }], applied: { cache: 'hit' } });
  });
});

describe("the hottest warm-up never re-runs /query's client SQL with the service's own rights", () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ server: { queryRole: WARM_ROLE, queryStatementTimeoutMs: TIMEOUT_MS }, cache: { warmUpIntervalSeconds: 0 } }, 'qopt_srvwarm');
    const schema = service.schema.name;
    await admin(async (client) => {
      await client.query(`CREATE ROLE ${WARM_ROLE} NOLOGIN`);
      await client.query(`CREATE TABLE ${schema}.hidden (id int PRIMARY KEY, secret text); INSERT INTO ${schema}.hidden VALUES (1, 'salary')`);
      await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${WARM_ROLE}`);
    });
  });

  afterAll(async () => {
    await service.close();
    await admin(async (client) => {
      await client.query(`DROP OWNED BY ${WARM_ROLE}`);
      await client.query(`DROP ROLE ${WARM_ROLE}`);
    });
  });

  it('re-runs a read /query loaded under its role and timeout, again under them, though the service role could run it', async () => {
    const secret = 'SELECT secret FROM hidden WHERE id = $1';
    // The /query role may not read `hidden`; the load is noted as a warm-up instance before it fails.
    const denied = await service.request('POST', '/api/v1/query', { body: { sql: secret, params: [1] } });
    expect(denied.status).toBe(403);

    const response = await service.request('POST', '/api/v1/cache/warm-up', { body: { hottest: { top: 20, per_query: 8 } } });
    expect(response.status).toBe(200);
    const { hottest } = (await response.json()) as { hottest: { warmed: number; failed: number; skipped: number } };
    // Re-run under the /query role, it is refused again.
    expect(hottest).toMatchObject({ warmed: 0, failed: 1, skipped: 0 });
    // Had it re-run as the service's role, the secret would now be cached, for the application or for /query.
    expect(service.qo.cache.isCachedLocally(service.qo.analyze(secret), [1])).toBe(false);
    expect(service.qo.cache.isCachedLocally(service.qo.analyze(secret), [1], WARM_ROLE)).toBe(false);
  });

  it('warms what /query may read, under its role: /query answers it from the cache', async () => {
    const schema = service.schema.name;
    await admin((client) => client.query(`CREATE TABLE ${schema}.open_rows (id int PRIMARY KEY, label text); INSERT INTO ${schema}.open_rows VALUES (1, 'one'); GRANT SELECT ON ${schema}.open_rows TO ${WARM_ROLE}`));
    const open = 'SELECT label FROM open_rows WHERE id = $1';
    const first = await service.request('POST', '/api/v1/query', { body: { sql: open, params: [1] } });
    expect(first.status).toBe(200);
    await service.qo.cache.invalidateTables(['open_rows']);
    expect(service.qo.cache.isCachedLocally(service.qo.analyze(open), [1], WARM_ROLE)).toBe(false);

    const response = await service.request('POST', '/api/v1/cache/warm-up', { body: { hottest: { top: 20, per_query: 8 } } });
    const { hottest } = (await response.json()) as { hottest: { warmed: number } };
    expect(hottest.warmed).toBeGreaterThanOrEqual(1);
    expect(service.qo.cache.isCachedLocally(service.qo.analyze(open), [1], WARM_ROLE)).toBe(true);
    expect(service.qo.cache.isCachedLocally(service.qo.analyze(open), [1])).toBe(false);
    const again = await service.request('POST', '/api/v1/query', { body: { sql: open, params: [1] } });
    expect(((await again.json()) as { applied: { cache: string } }).applied.cache).toBe('hit');
  });
});
