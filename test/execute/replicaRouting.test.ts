import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import { createReplicaPair, replicaUnavailableReason } from './support/replicaCluster.js';
import type { ReplicaPair } from './support/replicaCluster.js';

const unavailable = replicaUnavailableReason();
if (unavailable) console.warn(`replica routing tests skipped: ${unavailable}`);

async function onReplica(pair: ReplicaPair, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: pair.replicaUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe.skipIf(unavailable !== undefined)('replica routing against a real streaming replica', () => {
  let pair: ReplicaPair;
  let qo: Optimizer;

  beforeAll(async () => {
    pair = await createReplicaPair();
    qo = await createOptimizer({
      // These tests are about the executor: the result cache would answer repeated reads itself.
      cache: { enabled: false },
      database: { url: pair.primaryUrl, poolMax: 2, replicas: [pair.replicaUrl] },
      executor: { replicaLagCheckMs: 60_000, breakerThreshold: 1, breakerHalfOpenMs: 60_000, retryBaseDelayMs: 1 },
    });
    await qo.query('CREATE TABLE notes (id int PRIMARY KEY, body text)');
    // Wait until the replica has replayed the table, then let the router see its position.
    for (;;) {
      await qo.executor.router.refresh();
      if (qo.executor.router.status()[0]!.lagBytes === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  afterAll(async () => {
    await qo?.close();
    pair?.destroy();
  });

  it('sends reads to the replica and writes to the primary', async () => {
    expect((await qo.query('SELECT pg_is_in_recovery() AS standby')).rows).toEqual([{ standby: true }]);
    // A standby refuses writes (read-only transaction): the insert succeeding means it went to the primary.
    const inserted = await qo.query("INSERT INTO notes VALUES (1, 'written on the primary')");
    expect(inserted.rowCount).toBe(1);
  });

  it('reads a session’s own write from the primary while the replica has not replayed it', async () => {
    await onReplica(pair, 'SELECT pg_wal_replay_pause()');
    try {
      await qo.query("INSERT INTO notes VALUES (2, 'mine')", [], { session: 'alice' });
      await qo.executor.router.refresh();
      const mine = await qo.query('SELECT body FROM notes WHERE id = $1', [2], { session: 'alice' });
      expect(mine.rows).toEqual([{ body: 'mine' }]);
      const elsewhere = await qo.query('SELECT body, pg_is_in_recovery() AS standby FROM notes WHERE id = $1', [2], { session: 'bob' });
      expect(elsewhere.rows).toEqual([]);
    } finally {
      await onReplica(pair, 'SELECT pg_wal_replay_resume()');
    }
    for (;;) {
      await qo.executor.router.refresh();
      const aliceOnReplica = await qo.query('SELECT pg_is_in_recovery() AS standby, count(*) AS n FROM notes WHERE id = 2', [], { session: 'alice' });
      if (aliceOnReplica.rows[0]!.standby === true) {
        expect(aliceOnReplica.rows[0]!.n).toBe('1');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it('opens the replica breaker when the replica stops and serves reads from the primary', async () => {
    pair.stopReplica();
    const result = await qo.query('SELECT pg_is_in_recovery() AS standby, 1 AS one');
    expect(result.rows).toEqual([{ standby: false, one: 1 }]);
    const replica = qo.executor.metrics().targets.find((target) => target.role === 'replica')!;
    expect(replica.breaker).toBe('open');
  });
});
