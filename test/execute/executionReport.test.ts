import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import type { PgDriver } from '../../src/db/pgDriver.js';
import type { QueryObservation } from '../../src/monitor/recorder.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { terminateBackend, waitForActive } from './support/activity.js';

function marker(): string {
  return `qopt_${randomBytes(6).toString('hex')}`;
}

/** Every observation the optimizer hands its monitor from now on. */
function watchObservations(qo: Optimizer): QueryObservation[] {
  const seen: QueryObservation[] = [];
  const record = qo.monitor.record.bind(qo.monitor);
  vi.spyOn(qo.monitor, 'record').mockImplementation((observation) => {
    seen.push(observation);
    record(observation);
  });
  return seen;
}

describe('what the executor reports to the monitor, on a real PostgreSQL', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_exec_report');
    qo = await createOptimizer({
      cache: { enabled: false },
      database: { url: schema.url, poolMax: 2 },
      executor: { retryBaseDelayMs: 5 },
      monitor: { nPlusOneThreshold: 10, slowQueryThresholdMs: 100 },
    });
    await qo.query('CREATE TABLE items (id int PRIMARY KEY, v text)');
    await qo.query("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 100) g");
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it('finds the N+1 of a plain loop of lookups with no request context, as a burst on one connection', async () => {
    qo.monitor.nPlusOne.reset();
    for (let id = 1; id <= 50; id += 1) await qo.query('SELECT v FROM items WHERE id = $1', [id]);
    const findings = qo.monitor.nPlusOne.list().filter((finding) => finding.normalized.startsWith('SELECT v FROM items'));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.source).toBe('burst');
    expect(findings[0]!.where).toMatch(/^connection \d+$/);
    expect(findings[0]!.batchedSql).toContain('= ANY($1)');
  });

  it('reports the route, the connection and no retries of a plain statement, in one observation shape for success and failure', async () => {
    const seen = watchObservations(qo);
    try {
      await qo.query('SELECT v FROM items WHERE id = $1', [1]);
      await expect(qo.query('SELECT v FROM no_such_table')).rejects.toThrow();
      await expect(qo.query('SELECT 1 / (id - id) FROM items WHERE id = $1', [1])).rejects.toThrow();
    } finally {
      vi.restoreAllMocks();
    }
    const [ok, missingTable, divisionByZero] = seen;
    expect(ok).toMatchObject({ route: 'primary', retries: 0, failed: false, errorType: undefined });
    expect(typeof ok!.connection).toBe('number');
    expect(ok!.poolWaitMs).toBeGreaterThanOrEqual(0);
    expect(missingTable).toMatchObject({ failed: true, errorType: '42P01', route: 'primary' });
    expect(divisionByZero).toMatchObject({ failed: true, errorType: '22012' });
    expect(Object.keys(missingTable!)).toEqual(Object.keys(ok!));
  });

  it('reports the time a statement waited for the one pooled connection a transaction held', async () => {
    const single = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 1 } });
    try {
      const pool = (single.driver as PgDriver).pool;
      const seen = watchObservations(single);
      let lookupQueued!: () => void;
      const queued = new Promise<void>((resolve) => (lookupQueued = resolve));
      let inTransaction!: () => void;
      const started = new Promise<void>((resolve) => (inTransaction = resolve));
      let heldUntil = 0;
      const transaction = single.transaction(async (tx) => {
        await tx.query('SELECT 1');
        inTransaction();
        await queued;
        // Still holding the connection: the lookup waits at least as long as this statement runs.
        await tx.query('SELECT pg_sleep(0.02)');
        heldUntil = performance.now();
      });
      await started;
      const waiting = single.query('SELECT v FROM items WHERE id = $1', [2]);
      await vi.waitFor(() => expect(pool.waitingCount).toBe(1));
      const waitSeenAt = performance.now();
      lookupQueued();
      await transaction;
      await waiting;
      const lookup = seen.find((observation) => observation.normalized.startsWith('SELECT v FROM items'));
      // It was waiting before waitSeenAt and got the connection only after heldUntil.
      expect(lookup!.poolWaitMs).toBeGreaterThanOrEqual(heldUntil - waitSeenAt);
      expect(lookup!.poolWaitMs).toBeGreaterThan(0);
      expect(single.recorder.snapshot().find((stats) => stats.normalized.startsWith('SELECT v FROM items'))!.meanPoolWaitMs).toBeGreaterThan(0);
    } finally {
      vi.restoreAllMocks();
      await single.close();
    }
  });

  it('counts the wait in the executor queue behind a connection checked out through qo.pool', async () => {
    const single = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 1 } });
    try {
      const seen = watchObservations(single);
      const client = (await single.pool.connect())!;
      await client.query('BEGIN');
      const waiting = single.query('SELECT v FROM items WHERE id = $1', [3]);
      await vi.waitFor(() => expect(single.executor.metrics().queued).toBe(1));
      const waitSeenAt = performance.now();
      await client.query('SELECT pg_sleep(0.02)');
      await client.query('COMMIT');
      const heldUntil = performance.now();
      client.release();
      await waiting;
      const lookup = seen.find((observation) => observation.normalized.startsWith('SELECT v FROM items'));
      // Queued before waitSeenAt, granted a slot only by the release after heldUntil.
      expect(lookup!.poolWaitMs).toBeGreaterThanOrEqual(heldUntil - waitSeenAt);
      expect(lookup!.poolWaitMs).toBeLessThanOrEqual(lookup!.durationMs);
    } finally {
      vi.restoreAllMocks();
      await single.close();
    }
  });

  it('reports the connection of statements on clients of qo.pool, and the checkout wait with the first statement (Kysely checks out per statement)', async () => {
    qo.monitor.nPlusOne.reset();
    const seen = watchObservations(qo);
    try {
      for (let id = 1; id <= 50; id += 1) {
        const client = (await qo.pool.connect())!;
        await client.query('SELECT v AS facade_v FROM items WHERE id = $1', [id]);
        client.release();
      }
    } finally {
      vi.restoreAllMocks();
    }
    expect(seen).toHaveLength(50);
    for (const observation of seen) {
      expect(observation).toMatchObject({ route: 'primary', retries: 0 });
      expect(typeof observation.connection).toBe('number');
    }
    expect(qo.monitor.nPlusOne.list().filter((finding) => finding.fingerprint === seen[0]!.fingerprint)).toHaveLength(1);
    expect(seen[0]!.params).toEqual([1]);
  });

  it('gives the first statement on a qo.pool client the time its checkout waited for the connection', async () => {
    const single = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 1 } });
    try {
      const seen = watchObservations(single);
      const holder = (await single.pool.connect())!;
      const checkout = single.pool.connect()!;
      await vi.waitFor(() => expect(single.executor.metrics().queued).toBe(1));
      const waitSeenAt = performance.now();
      await holder.query('SELECT pg_sleep(0.02)');
      const heldUntil = performance.now();
      holder.release();
      const client = await checkout;
      await client.query('SELECT v FROM items WHERE id = $1', [4]);
      await client.query('SELECT v FROM items WHERE id = $1', [5]);
      client.release();
      const [first, second] = seen.filter((observation) => observation.normalized.startsWith('SELECT v FROM items'));
      expect(first!.poolWaitMs).toBeGreaterThanOrEqual(heldUntil - waitSeenAt);
      expect(second!.poolWaitMs).toBe(0);
      expect(second!.connection).toBe(first!.connection);
    } finally {
      vi.restoreAllMocks();
      await single.close();
    }
  });

  it('reports the retries of a read whose backend was terminated, and the slow log entry carries them with the route', async () => {
    const tag = marker();
    const seen = watchObservations(qo);
    try {
      const running = qo.query<{ answer: number }>(`SELECT 42 AS answer FROM pg_sleep(0.3) /* ${tag} */`);
      await terminateBackend(await waitForActive(tag));
      expect((await running).rows).toEqual([{ answer: 42 }]);
    } finally {
      vi.restoreAllMocks();
    }
    const retried = seen.find((observation) => observation.sql?.includes(tag));
    expect(retried).toMatchObject({ failed: false, route: 'primary' });
    expect(retried!.retries).toBeGreaterThanOrEqual(1);
    const entry = qo.monitor.slowLog.list().find((candidate) => candidate.fingerprint === retried!.fingerprint);
    expect(entry).toMatchObject({ route: 'primary' });
    expect(entry!.retries).toBeGreaterThanOrEqual(1);
  });
});

describe('what the cache stage reports to the monitor', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_exec_report_cache');
    qo = await createOptimizer({ database: { url: schema.url, poolMax: 2 }, cache: { enabled: true, changeCapture: false } });
    await qo.query('CREATE TABLE tags (id int PRIMARY KEY, name text)');
    await qo.query("INSERT INTO tags VALUES (1, 'one')");
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it('gives a miss the executor route and connection, and a hit the cache as its route, in the same shape', async () => {
    const seen = watchObservations(qo);
    try {
      await qo.query('SELECT name FROM tags WHERE id = $1', [1]);
      await qo.query('SELECT name FROM tags WHERE id = $1', [1]);
    } finally {
      vi.restoreAllMocks();
    }
    const [miss, hit] = seen;
    expect(miss).toMatchObject({ cache: 'miss', route: 'primary', retries: 0 });
    expect(typeof miss!.connection).toBe('number');
    expect(hit).toMatchObject({ cache: 'hit', route: 'cache', connection: undefined, poolWaitMs: undefined });
    expect(Object.keys(hit!)).toEqual(Object.keys(miss!));
  });
});
