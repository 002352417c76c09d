import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/index.js';
import type { Optimizer } from '../../src/index.js';
import type { OptimizerOptions } from '../../src/optimizer.js';
import { isPreparable, isStalePreparedStatement, PreparedStatements } from '../../src/execute/preparedStatements.js';
import { analyzeSql } from '../../src/sql/analyze.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

const PREPARED = "select name, statement from pg_prepared_statements where name like 'qopt\\_%' order by name";

describe('PreparedStatements', () => {
  it('names a text on its second use and keeps that name', () => {
    const prepared = new PreparedStatements({ prepareOnUse: 2, maxPerConnection: 10, maxTexts: 10 });
    expect(prepared.nameOf('select $1')).toBeUndefined();
    const name = prepared.nameOf('select $1');
    expect(name).toMatch(/^qopt_/);
    expect(prepared.nameOf('select $1')).toBe(name);
    expect(prepared.nameOf('select $1 + 1')).toBeUndefined();
    expect(prepared.nameOf('select $1 + 1')).not.toBe(name);
  });

  it('forgets the oldest text beyond maxTexts, and never reuses a name for another text', () => {
    const prepared = new PreparedStatements({ prepareOnUse: 1, maxPerConnection: 10, maxTexts: 2 });
    const first = prepared.nameOf('select 1 where $1');
    prepared.nameOf('select 2 where $1');
    prepared.nameOf('select 3 where $1');
    expect(prepared.size).toBe(2);
    const again = prepared.nameOf('select 1 where $1');
    expect(again).toBeDefined();
    expect(again).not.toBe(first);
  });

  it('lets one connection hold at most maxPerConnection statements', () => {
    const prepared = new PreparedStatements({ prepareOnUse: 1, maxPerConnection: 2, maxTexts: 10 });
    const client = {} as Parameters<PreparedStatements['usableOn']>[0];
    expect(prepared.usableOn(client, 'qopt_1')).toBe(true);
    expect(prepared.usableOn(client, 'qopt_2')).toBe(true);
    expect(prepared.usableOn(client, 'qopt_3')).toBe(false);
    expect(prepared.usableOn(client, 'qopt_1')).toBe(true);
    expect(prepared.usableOn({} as typeof client, 'qopt_3')).toBe(true);
  });

  it('prepares single SELECT / INSERT / UPDATE / DELETE statements only', () => {
    expect(isPreparable(analyzeSql('select * from t where id = $1'))).toBe(true);
    expect(isPreparable(analyzeSql('update t set v = $1 where id = $2'))).toBe(true);
    expect(isPreparable(analyzeSql('create table t (id int)'))).toBe(false);
    expect(isPreparable(analyzeSql('set search_path = public'))).toBe(false);
    expect(isPreparable(analyzeSql('select 1; select 2'))).toBe(false);
  });

  it('recognizes the errors of a stale prepared statement and nothing else', () => {
    expect(isStalePreparedStatement({ code: '0A000', message: 'cached plan must not change result type' })).toBe(true);
    expect(isStalePreparedStatement({ code: '26000', message: 'prepared statement "qopt_1" does not exist' })).toBe(true);
    expect(isStalePreparedStatement({ code: '0A000', message: 'FOR UPDATE is not allowed with aggregate functions' })).toBe(false);
    expect(isStalePreparedStatement({ code: '23505', message: 'duplicate key' })).toBe(false);
  });
});

// One connection, so the statements qopt prepares and the catalog view that lists them share a session.
describe('automatic prepared statements on PostgreSQL', () => {
  let schema: TestSchema;
  const optimizers: Optimizer[] = [];

  async function open(options: OptimizerOptions = {}): Promise<Optimizer> {
    const qo = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url, poolMax: 1 }, ...options });
    optimizers.push(qo);
    return qo;
  }

  beforeAll(async () => {
    schema = await createTestSchema('qopt_prepared');
    const qo = await open();
    await qo.query('create table accounts (id int primary key, balance int not null)');
    await qo.query('insert into accounts select g, g * 10 from generate_series(1, 100) g');
  });

  afterEach(async () => {
    while (optimizers.length > 1) await optimizers.pop()!.close();
  });

  afterAll(async () => {
    for (const qo of optimizers) await qo.close();
    await schema.drop();
  });

  it('runs a repeated statement with parameters as a named prepared statement from its second use', async () => {
    const qo = await open();
    const sql = 'select balance from accounts where id = $1';
    expect((await qo.query(sql, [1])).rows).toEqual([{ balance: 10 }]);
    expect((await qo.query(PREPARED)).rows).toEqual([]);
    expect((await qo.query(sql, [2])).rows).toEqual([{ balance: 20 }]);
    expect((await qo.query(sql, [3])).rows).toEqual([{ balance: 30 }]);
    const prepared = (await qo.query<{ statement: string }>(PREPARED)).rows;
    expect(prepared.map((row) => row.statement)).toEqual([sql]);
  });

  it('prepares writes too, and leaves statements without parameters and DDL alone', async () => {
    const qo = await open();
    for (let id = 101; id <= 103; id += 1) await qo.query('insert into accounts (id, balance) values ($1, $2)', [id, 0]);
    for (let round = 0; round < 3; round += 1) await qo.query('select count(*)::int as n from accounts');
    await qo.query('create index if not exists accounts_balance on accounts (balance)');
    await qo.query('create index if not exists accounts_balance on accounts (balance)');
    const statements = (await qo.query<{ statement: string }>(PREPARED)).rows.map((row) => row.statement);
    expect(statements).toEqual(['insert into accounts (id, balance) values ($1, $2)']);
    await qo.query('delete from accounts where id > $1', [100]);
  });

  it('prepares what Kysely, Drizzle and pg code send through qo.pool, keeping their rowMode and their own names', async () => {
    const qo = await open();
    const text = 'select id, balance from accounts where id = $1';
    for (const id of [1, 2, 3]) expect((await qo.pool.query({ text, values: [id], rowMode: 'array' }))!.rows).toEqual([[id, id * 10]]);
    await qo.pool.query({ name: 'mine', text: 'select balance from accounts where id = $1', values: [4] });
    await qo.pool.query({ name: 'mine', text: 'select balance from accounts where id = $1', values: [5] });
    const statements = (await qo.query<{ name: string; statement: string }>("select name, statement from pg_prepared_statements order by statement")).rows;
    expect(statements.map((row) => row.statement)).toEqual(['select balance from accounts where id = $1', text]);
    expect(statements[0]!.name).toBe('mine');
  });

  it('prepares nothing with executor.preparedStatements off', async () => {
    const qo = await open({ executor: { preparedStatements: false } });
    for (let id = 1; id <= 3; id += 1) await qo.query('select balance from accounts where id = $1', [id]);
    expect((await qo.query(PREPARED)).rows).toEqual([]);
  });

  it('holds at most executor.maxPreparedPerConnection statements on one connection; the rest still run', async () => {
    const qo = await open({ executor: { maxPreparedPerConnection: 2 } });
    const texts = ['select id from accounts where id = $1', 'select balance from accounts where id = $1', 'select id, balance from accounts where id = $1'];
    for (const sql of texts) for (let round = 0; round < 3; round += 1) expect((await qo.query(sql, [5])).rows).toHaveLength(1);
    expect((await qo.query(PREPARED)).rows).toHaveLength(2);
  });

  it('re-runs a statement whose prepared plan a schema change made stale, and returns the new columns', async () => {
    const qo = await open();
    await qo.query('create table versions (id int primary key, label text)');
    await qo.query("insert into versions values (1, 'one')");
    const sql = 'select * from versions where id = $1';
    await qo.query(sql, [1]);
    await qo.query(sql, [1]);
    expect((await qo.query(PREPARED)).rows).toHaveLength(1);
    await qo.query('alter table versions add column note text default $$new$$');
    expect((await qo.query(sql, [1])).rows).toEqual([{ id: 1, label: 'one', note: 'new' }]);
    // The stale connection was closed: its replacement prepares the statement afresh.
    expect((await qo.query(sql, [1])).rows).toEqual([{ id: 1, label: 'one', note: 'new' }]);
    expect((await qo.query<{ statement: string }>(PREPARED)).rows.map((row) => row.statement)).toEqual([sql]);
  });

  it('recovers when the connection lost its prepared statements (DISCARD ALL)', async () => {
    const qo = await open();
    const sql = 'select balance from accounts where id = $1';
    await qo.query(sql, [7]);
    await qo.query(sql, [7]);
    await qo.query('discard all');
    expect((await qo.query(sql, [7])).rows).toEqual([{ balance: 70 }]);
  });

  it('keeps statement names distinct between optimizers that share one driver', async () => {
    const owner = await open();
    const shared = { driver: owner.driver, cache: { enabled: false }, monitor: { enabled: false } };
    const first = await createOptimizer(shared);
    const second = await createOptimizer(shared);
    try {
      // Each optimizer's first prepared text; on one pooled connection a repeated name would be refused.
      for (let round = 0; round < 3; round += 1) {
        expect((await first.query('select balance from accounts where id = $1', [1])).rows).toEqual([{ balance: 10 }]);
        expect((await second.query('select id from accounts where balance = $1', [20])).rows).toEqual([{ id: 2 }]);
      }
      const prepared = (await owner.query<{ name: string }>(PREPARED)).rows.map((row) => row.name);
      expect(new Set(prepared).size).toBe(prepared.length);
      expect(prepared.length).toBeGreaterThanOrEqual(2);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('never re-runs a write that failed for another reason', async () => {
    const qo = await open();
    const sql = 'insert into accounts (id, balance) values ($1, $2)';
    await qo.query(sql, [201, 1]);
    await qo.query('delete from accounts where id = $1', [201]);
    await qo.query(sql, [201, 1]);
    await expect(qo.query(sql, [201, 2])).rejects.toMatchObject({ sqlState: '23505' });
    expect((await qo.query('select balance from accounts where id = $1', [201])).rows).toEqual([{ balance: 1 }]);
    await qo.query('delete from accounts where id = $1', [201]);
  });
});
