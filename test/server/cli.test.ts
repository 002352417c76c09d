import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { createOptimizer } from '../../src/index.js';
import { dropRedisPrefix, REDIS_URL, redisPrefix } from '../cache/support.js';
import { TOKEN } from './support.js';

// The built CLI, exactly as a user runs it (`npm test` builds first).
const BIN = resolve(import.meta.dirname, '../../bin/qopt.js');

/** Runs the CLI to its end without blocking the test worker (a worker stuck in spawnSync cannot answer vitest's RPC). */
function qoptRun(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('qopt serve and qopt duckdb', () => {
  let schema: TestSchema;
  const dir = mkdtempSync(join(tmpdir(), 'qopt-cli-service-'));

  beforeAll(async () => {
    schema = await createTestSchema('qopt_srvc');
  });

  afterAll(async () => {
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API on the chosen port until SIGTERM, then exits cleanly', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--database', schema.url], {
      cwd: dir,
      env: { ...process.env, QOPT_API_TOKEN: TOKEN },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((resolveUrl, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /qopt service on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (match) resolveUrl(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`qopt serve exited with ${code}: ${stderr}`)));
    });
    const status = await fetch(`${url}/api/v1/optimization/status`);
    expect(status.status).toBe(200);
    const query = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT 2 AS two' }),
    });
    expect(await query.json()).toMatchObject({ rows: [{ two: 2 }] });
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('syncs tables into a DuckDB file and reports them fresh', async () => {
    const file = join(dir, 'copy.duckdb');
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    await client.query("CREATE TABLE things (id int PRIMARY KEY, name text); INSERT INTO things VALUES (1, 'a'), (2, 'b')");
    await client.query('SELECT pg_stat_force_next_flush()');
    await client.end();
    const sync = await qoptRun(['duckdb', 'sync', '--tables', 'things', '--file', file, '--database', schema.url, '--json'], dir);
    expect(sync.status, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject({ tables: [{ table: 'things', rows: 2, enumColumns: [] }] });
    const status = await qoptRun(['duckdb', 'status', '--file', file, '--database', schema.url, '--json'], dir);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject([{ table: 'things', rows: 2, fresh: true }]);
  });

  it('records the cache generations from Redis, so a write through qopt is stale at once; without Redis says it records none', async () => {
    const file = join(dir, 'generations.duckdb');
    const prefix = redisPrefix();
    const env = { ...process.env, QOPT_REDIS_KEY_PREFIX: prefix };
    const qo = await createOptimizer({ database: { url: schema.url }, redis: { url: REDIS_URL, keyPrefix: prefix }, cache: { changeCapture: false, warmUpIntervalSeconds: 0 } });
    try {
      const sync = await qoptRun(['duckdb', 'sync', '--tables', 'things', '--file', file, '--database', schema.url, '--redis', REDIS_URL, '--json'], dir, env);
      expect(sync.status, sync.stderr).toBe(0);
      expect(JSON.parse(sync.stdout)).toMatchObject({ generationStore: 'redis', tables: [{ table: 'things', cacheGeneration: expect.stringMatching(/^redis:/) }] });
      // A write PostgreSQL does not count (as one it has not published yet): only the cache's generation tells.
      await qo.transaction(async (tx) => {
        await tx.query('SET LOCAL track_counts = off');
        await tx.query("UPDATE things SET name = 'c' WHERE id = 1");
      });
      const status = await qoptRun(['duckdb', 'status', '--file', file, '--database', schema.url, '--redis', REDIS_URL, '--json'], dir, env);
      expect(status.status, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject([{ table: 'things', fresh: false }]);

      const alone = await qoptRun(['duckdb', 'sync', '--tables', 'things', '--file', file, '--database', schema.url], dir, { ...env, REDIS_URL: '', QOPT_REDIS_URL: '' });
      expect(alone.status, alone.stderr).toBe(0);
      expect(alone.stdout).toContain('no shared cache generation store reachable');
    } finally {
      await qo.close();
      await dropRedisPrefix(prefix);
    }
  });

  it('refuses an --enum-max-values that is not a whole number', async () => {
    const sync = await qoptRun(['duckdb', 'sync', '--tables', 'things', '--file', join(dir, 'x.duckdb'), '--database', schema.url, '--enum-max-values', '-1'], dir);
    expect(sync.status).toBe(1);
    expect(sync.stderr).toContain('--enum-max-values takes a whole number');
  });

  it('refuses to sync from the embedded database with one clear line', async () => {
    const sync = await qoptRun(['duckdb', 'sync', '--tables', 'things', '--file', join(dir, 'x.duckdb'), '--database', 'memory:'], dir);
    expect(sync.status).toBe(1);
    expect(sync.stderr.trim()).toBe('qopt: qopt duckdb sync needs a PostgreSQL server (postgres://…) as its source');
  });
});
