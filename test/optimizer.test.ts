import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createOptimizer, openDriver, SqlSyntaxError } from '../src/index.js';
import type { Optimizer, SqlAnalysis } from '../src/index.js';

describe('createOptimizer on the embedded database', () => {
  let qo: Optimizer;
  const committed: string[][] = [];

  beforeAll(async () => {
    qo = await createOptimizer({ database: { url: 'memory:' } });
    qo.onCommittedWrites((writes: readonly SqlAnalysis[]) => {
      committed.push(writes.flatMap((write) => write.writeTables));
    });
    await qo.query('create table accounts (id int primary key, balance int not null)');
    await qo.query('insert into accounts values (1, 100), (2, 50)');
  });

  afterAll(async () => {
    await qo.close();
  });

  it('runs queries and records their latency under the fingerprint', async () => {
    qo.recorder.reset();
    for (const id of [1, 2, 1]) await qo.query('select balance from accounts where id = $1', [id]);
    const [stats] = qo.recorder.snapshot();
    expect(stats!.calls).toBe(3);
    expect(stats!.rows).toBe(3);
    expect(stats!.normalized).toBe('select balance from accounts where id = $1');
    expect(stats!.p50Ms).toBeGreaterThan(0);
    expect(stats!.p95Ms).toBeGreaterThanOrEqual(stats!.p50Ms);
  });

  it('counts a failed query as an error under its fingerprint', async () => {
    qo.recorder.reset();
    await expect(qo.query('select missing_column from accounts')).rejects.toThrow(/missing_column/);
    expect(qo.recorder.snapshot()[0]!.errors).toBe(1);
  });

  it('rejects bad SQL before it reaches the database', async () => {
    await expect(qo.query('selec 1')).rejects.toBeInstanceOf(SqlSyntaxError);
  });

  it('reports an autocommitted write after it succeeded', async () => {
    committed.length = 0;
    await qo.query('update accounts set balance = balance + 1 where id = $1', [1]);
    expect(committed).toEqual([['accounts']]);
  });

  it('does not report a failed write', async () => {
    committed.length = 0;
    await expect(qo.query('insert into accounts values (1, 0)')).rejects.toThrow(/duplicate key/);
    expect(committed).toEqual([]);
  });

  it('reports the writes of a transaction only once it has committed', async () => {
    committed.length = 0;
    await qo.transaction(async (tx) => {
      await tx.query('update accounts set balance = balance - 10 where id = 1');
      await tx.query('update accounts set balance = balance + 10 where id = 2');
      expect(committed).toEqual([]);
    });
    expect(committed).toEqual([['accounts', 'accounts']]);
  });

  it('reports nothing for a transaction that rolled back, and leaves the data unchanged', async () => {
    committed.length = 0;
    const before = (await qo.query<{ balance: number }>('select balance from accounts where id = 1')).rows[0]!.balance;
    await expect(
      qo.transaction(async (tx) => {
        await tx.query('update accounts set balance = 0 where id = 1');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(committed).toEqual([]);
    expect((await qo.query<{ balance: number }>('select balance from accounts where id = 1')).rows[0]!.balance).toBe(before);
  });

  it('explains through the driver', async () => {
    const plan = await qo.explain('select * from accounts where id = $1', [1]);
    expect(plan.plan['Node Type']).toMatch(/Scan/);
  });
});

describe('createOptimizer options', () => {
  it('rejects a bad option with ConfigError before opening anything', async () => {
    await expect(createOptimizer({ executor: { maxConcurrentQueries: -1 } })).rejects.toBeInstanceOf(ConfigError);
  });

  it('leaves open a driver it was given', async () => {
    const driver = await openDriver('memory:');
    const qo = await createOptimizer({ driver });
    await qo.close();
    expect((await driver.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await driver.close();
  });
});
