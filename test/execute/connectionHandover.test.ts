import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer, PgDriver } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

describe('connection hand-over between queued statements', () => {
  let schema: TestSchema;
  let driver: PgDriver;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_handover');
    driver = new PgDriver({ connectionString: schema.url, poolMax: 2 });
    qo = await createOptimizer({ driver, cache: { enabled: false }, executor: { deduplicateReads: false } });
    await qo.query('create table items (id int primary key, label text not null)');
    await qo.query("insert into items select g, 'item ' || g from generate_series(1, 50) g");
  });

  afterAll(async () => {
    await qo.close();
    await driver.close();
    await schema.drop();
  });

  it('hands a freed connection straight to the next queued statement, with every result right', async () => {
    let checkouts = 0;
    const count = () => (checkouts += 1);
    driver.pool.on('acquire', count);
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, index) => qo.query<{ label: string }>('select label from items where id = $1', [index + 1])));
      expect(results.map((result) => result.rows[0]!.label)).toEqual(Array.from({ length: 40 }, (_, index) => `item ${index + 1}`));
      // 40 statements over 2 connections: each connection is checked out of the pool once, then handed on.
      expect(checkouts).toBeLessThanOrEqual(2);
    } finally {
      driver.pool.off('acquire', count);
    }
    expect(driver.pool.idleCount).toBe(driver.pool.totalCount);
  });

  it('lets a plain pg caller waiting on the same pool have the next free connection', async () => {
    const order: string[] = [];
    const queued = Array.from({ length: 10 }, (_, index) => qo.query('select $1::int as n', [index]).then(() => order.push(`qopt ${index}`)));
    // Both connections are busy with qopt's first two statements: this caller waits in the pool's own queue.
    const raw = driver.pool.query('select 1').then(() => order.push('raw'));
    await Promise.all([...queued, raw]);
    expect(order.indexOf('raw')).toBeLessThan(4);
  });

  it('does not hand over a connection whose statement failed', async () => {
    await expect(qo.query('select 1 / $1::int', [0])).rejects.toThrow(/division by zero/);
    const results = await Promise.all(Array.from({ length: 6 }, (_, index) => qo.query<{ n: number }>('select $1::int as n', [index])));
    expect(results.map((result) => result.rows[0]!.n)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
