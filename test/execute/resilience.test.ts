import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitOpenError, ConnectionError, PoolExhaustedError, QueryTimeoutError, QuotaExceededError, createOptimizer } from '../../src/index.js';
import type { Optimizer , PgDriver} from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { activeWithMarker, terminateBackend, waitForActive } from './support/activity.js';
import { TcpProxy } from './support/tcpProxy.js';

function marker(): string {
  return `qopt_${randomBytes(6).toString('hex')}`;
}

describe('executor on a real PostgreSQL', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_exec');
    qo = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 4 }, executor: { retryBaseDelayMs: 5 } });
    await qo.query('CREATE TABLE events (id serial PRIMARY KEY, note text)');
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it('cancels a timed-out pg_sleep on the server, not only on the client', async () => {
    const tag = marker();
    const running = qo.query(`SELECT pg_sleep(30) /* ${tag} */`, [], { timeoutMs: 300 });
    const outcome = running.catch((error: unknown) => error);
    await waitForActive(tag);
    const error = await outcome;
    expect(error).toBeInstanceOf(QueryTimeoutError);
    expect(await activeWithMarker(tag)).toEqual([]);
    expect(qo.executor.metrics().timeouts).toBeGreaterThanOrEqual(1);
  });

  it('retries a read whose backend was terminated and returns its result', async () => {
    const tag = marker();
    const before = qo.executor.metrics().retries;
    const running = qo.query<{ answer: number }>(`SELECT 42 AS answer FROM pg_sleep(0.3) /* ${tag} */`);
    await terminateBackend(await waitForActive(tag));
    const result = await running;
    expect(result.rows).toEqual([{ answer: 42 }]);
    expect(qo.executor.metrics().retries).toBe(before + 1);
  });

  it('does not retry a write whose backend was terminated', async () => {
    const tag = marker();
    const before = qo.executor.metrics().retries;
    const running = qo.query(`INSERT INTO events (note) SELECT '${tag}' FROM pg_sleep(0.3) /* ${tag} */`);
    const outcome = running.catch((error: unknown) => error);
    await terminateBackend(await waitForActive(tag));
    expect(await outcome).toBeInstanceOf(ConnectionError);
    expect(qo.executor.metrics().retries).toBe(before);
    const count = await qo.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE note = $1', [tag]);
    expect(count.rows[0]!.n).toBe('0');
  });

  it('retries a write the caller marks idempotent', async () => {
    const tag = marker();
    const running = qo.query(`INSERT INTO events (note) SELECT '${tag}' FROM pg_sleep(0.3) /* ${tag} */`, [], { idempotent: true });
    await terminateBackend(await waitForActive(tag));
    await running;
    const count = await qo.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE note = $1', [tag]);
    expect(count.rows[0]!.n).toBe('1');
  });

  it('orders queued queries high, normal, low when the database is saturated', async () => {
    const saturated = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 1 }, executor: { maxConcurrentQueries: 1, priorityAgingMs: 600_000 } });
    try {
      const blocker = saturated.query('SELECT pg_sleep(0.3)');
      const order: string[] = [];
      const priorities = ['low', 'normal', 'high', 'low', 'normal', 'high'] as const;
      const queued = priorities.map((priority, index) =>
        saturated.query('SELECT $1::text AS label', [`${priority}${index}`], { priority }).then((result) => order.push(String(result.rows[0]!.label))),
      );
      expect(saturated.executor.metrics().queued).toBe(6);
      await blocker;
      await Promise.all(queued);
      expect(order).toEqual(['high2', 'high5', 'normal1', 'normal4', 'low0', 'low3']);
    } finally {
      await saturated.close();
    }
  });

  it("rejects a user's query beyond their concurrent and hourly quotas", async () => {
    const limited = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 2 }, quotas: { concurrentQueries: 1, queriesPerHour: 3 } });
    try {
      const first = limited.query('SELECT pg_sleep(0.2)', [], { user: 'alice' });
      await expect(limited.query('SELECT 1', [], { user: 'alice' })).rejects.toMatchObject({ quota: 'concurrentQueries' });
      await limited.query('SELECT 2', [], { user: 'bob' });
      await first;
      await limited.query('SELECT 3', [], { user: 'alice' });
      await limited.query('SELECT 4', [], { user: 'alice' });
      const refused = await limited.query('SELECT 5', [], { user: 'alice' }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(QuotaExceededError);
      expect(refused).toMatchObject({ quota: 'queriesPerHour', limit: 3 });
      expect(limited.executor.metrics().quotaRejections).toBe(2);
    } finally {
      await limited.close();
    }
  });

  it('survives the backend of an idle pooled connection being terminated, and serves the next query', async () => {
    const hygiene = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 1 }, executor: { validateIdleAfterMs: 1 } });
    try {
      const pid = (await hygiene.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await terminateBackend(pid);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const next = await hygiene.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(next.rows[0]!.pid).not.toBe(pid);
    } finally {
      await hygiene.close();
    }
  });

  it('fails with PoolExhaustedError when no connection frees up in time', async () => {
    const small = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 1, connectionTimeoutMs: 200 } });
    const held = await (small.driver as PgDriver).pool.connect();
    try {
      await expect(small.query('SELECT 1')).rejects.toBeInstanceOf(PoolExhaustedError);
    } finally {
      held.release();
      await small.close();
    }
  });

  it('opens the breaker on a stopped target, fails fast while open, and closes after recovery', async () => {
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(schema.url).port || 5432));
    await proxy.start();
    const url = new URL(schema.url);
    url.port = String(proxy.port);
    const guarded = await createOptimizer({
      // These tests are about the executor: the result cache would answer repeated reads itself.
      cache: { enabled: false },
      database: { url: url.toString(), poolMax: 2, connectionTimeoutMs: 2000 },
      executor: { automaticRetry: false, breakerThreshold: 2, breakerHalfOpenMs: 200 },
    });
    try {
      await guarded.query('SELECT 1');
      await proxy.stop();
      await expect(guarded.query('SELECT 2')).rejects.toBeInstanceOf(ConnectionError);
      await expect(guarded.query('SELECT 3')).rejects.toBeInstanceOf(ConnectionError);
      expect(guarded.executor.metrics().targets[0]!.breaker).toBe('open');
      await expect(guarded.query('SELECT 4')).rejects.toBeInstanceOf(CircuitOpenError);
      await proxy.start();
      let recovered = false;
      while (!recovered) {
        recovered = await guarded.query('SELECT 5').then(
          () => true,
          (error: unknown) => {
            if (!(error instanceof CircuitOpenError)) throw error;
            return new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50));
          },
        );
      }
      expect(guarded.executor.metrics().targets[0]).toMatchObject({ breaker: 'closed', breakerOpened: 1 });
    } finally {
      await guarded.close();
      await proxy.stop();
    }
  });
});
