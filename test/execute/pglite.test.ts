import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';

describe('executor on the embedded PGlite', () => {
  let qo: Optimizer;

  beforeAll(async () => {
    qo = await createOptimizer({ cache: { enabled: false }, database: { url: 'memory:' } });
    await qo.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
    await qo.query("INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 50) AS i");
  });

  afterAll(async () => {
    await qo.close();
  });

  it('runs one statement at a time and queues the rest in priority order', async () => {
    const order: string[] = [];
    const blocker = qo.query('SELECT count(*) FROM t');
    const queued = (['low', 'high', 'normal'] as const).map((priority) =>
      qo.query('SELECT $1::text AS p', [priority], { priority }).then((result) => order.push(String(result.rows[0]!.p))),
    );
    expect(qo.executor.metrics()).toMatchObject({ active: 1, queued: 3, targets: [{ role: 'primary', pool: null }] });
    await blocker;
    await Promise.all(queued);
    expect(order).toEqual(['high', 'normal', 'low']);
  });

  it('batches loader calls, streams rows and serves the pool facade', async () => {
    const loader = qo.loader('t', 'id');
    const rows = await Promise.all([1, 2, 3].map((id) => loader.load(id)));
    expect(rows.map((found) => found[0]!.v)).toEqual(['v1', 'v2', 'v3']);
    let streamed = 0;
    for await (const _row of qo.stream('SELECT * FROM t')) streamed += 1;
    expect(streamed).toBe(50);
    const result = await qo.pool.query({ text: 'SELECT id, v FROM t WHERE id = $1', values: [4], rowMode: 'array' } as never);
    expect(result!.rows).toEqual([[4, 'v4']]);
    const client = await qo.pool.connect();
    await client!.query('BEGIN');
    await client!.query("UPDATE t SET v = 'changed' WHERE id = 5");
    await client!.query('ROLLBACK');
    client!.release();
    expect((await qo.query('SELECT v FROM t WHERE id = 5')).rows).toEqual([{ v: 'v5' }]);
  });
});
