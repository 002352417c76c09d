import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../support/postgres.js';
import { startTestService, TOKEN } from './support.js';
import type { TestService } from './support.js';

const ROLE = `qopt_session_${randomBytes(3).toString('hex')}`;
const TIMEOUT_MS = 4321;

const admin = withClient;

interface SessionState {
  who: string;
  timeout: string;
  search_path: string;
  work_mem: string;
  /** False inside a transaction block: now() is the transaction's start. */
  autocommit: boolean;
  advisory_locks: number;
  temp_table: string | null;
}

// One connection in the pool: the library's next statement runs on the connection /query just used.
describe('POST /query leaves the pooled connection as the pool had it', () => {
  let service: TestService;
  let startup: SessionState;

  const query = (body: unknown) => service.request('POST', '/api/v1/query', { body });
  const sessionState = async () =>
    (
      await service.qo.driver.query<SessionState>(
        `SELECT current_user AS who, current_setting('statement_timeout') AS timeout, current_setting('search_path') AS search_path,
                current_setting('work_mem') AS work_mem, now() = statement_timestamp() AS autocommit,
                (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS advisory_locks,
                to_regclass('pg_temp.left_behind')::text AS temp_table`,
      )
    ).rows[0]!;

  beforeAll(async () => {
    service = await startTestService({ database: { poolMax: 1 }, server: { queryRole: ROLE, queryStatementTimeoutMs: TIMEOUT_MS } }, 'qopt_srvsess');
    const schema = service.schema.name;
    await admin(async (client) => {
      await client.query(`CREATE ROLE ${ROLE} NOLOGIN`);
      await client.query(`GRANT USAGE, CREATE ON SCHEMA ${schema} TO ${ROLE}`);
      // Session-level set_config (is_local false) from inside the client's statement: it outlives the transaction.
      await client.query(`CREATE FUNCTION ${schema}.change_session() RETURNS int LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM set_config('search_path', 'pg_catalog', false);
          PERFORM set_config('statement_timeout', '5ms', false);
          PERFORM set_config('work_mem', '7777kB', false);
          PERFORM set_config('role', '${ROLE}', false);
          CREATE TEMP TABLE left_behind (id int);
          RETURN 1;
        END $$`);
      await client.query(`GRANT EXECUTE ON FUNCTION ${schema}.change_session() TO ${ROLE}`);
    });
    startup = await sessionState();
  });

  afterAll(async () => {
    await service.close();
    await admin(async (client) => {
      await client.query(`DROP OWNED BY ${ROLE}`);
      await client.query(`DROP ROLE ${ROLE}`);
    });
  });

  it('starts from the URL options search_path, outside any transaction', () => {
    expect(startup).toMatchObject({ who: 'postgres', timeout: '0', search_path: service.schema.name, autocommit: true, advisory_locks: 0, temp_table: null });
  });

  it('resets settings, role and temp tables a statement changed for the whole session', async () => {
    const response = await query({ sql: 'SELECT change_session() AS changed' });
    expect(response.status).toBe(200);
    expect(await sessionState()).toEqual(startup);
  });

  it('resets them on the streamed path too', async () => {
    const response = await query({ sql: 'SELECT change_session() AS changed', stream: true });
    expect(await response.text()).toContain('"rowCount":1');
    expect(await sessionState()).toEqual(startup);
  });

  it('releases session advisory locks the statement took', async () => {
    const response = await query({ sql: 'SELECT pg_advisory_lock(4242) IS NULL AS locked' });
    expect(response.status).toBe(200);
    expect(await sessionState()).toEqual(startup);
  });

  it('rolls back and resets a connection whose stream the client abandoned mid-way', async () => {
    const body = JSON.stringify({ sql: "SELECT i, repeat('x', 100) AS pad FROM generate_series(1, 2000000) AS i", stream: true });
    const request = http.request(`${service.server.url}/api/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      request.on('response', resolve).on('error', reject);
      request.end(body);
    });
    expect(response.statusCode).toBe(200);
    await once(response, 'data');
    // The client goes away with the stream mid-way: its socket closes.
    request.destroy();
    // The pool's one connection is handed out only once the abandoned stream has given it back.
    expect(await sessionState()).toEqual(startup);
  });
});
