import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, openDriver, parseDatabaseLocation, QueryError } from '../../src/index.js';
import type { Driver } from '../../src/index.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

const TYPES_SQL = `select 9007199254740993::int8 as big, 1.50::numeric(6,2) as money, timestamptz '2024-05-01 12:00:00+00' as at,
  '\\x0102ff'::bytea as blob, '{"a":[1,2]}'::jsonb as doc, array[1,2,3] as list, null::text as nothing, 7::int4 as small`;

function driverContract(name: string, open: () => Promise<{ driver: Driver; cleanup(): Promise<void> }>) {
  describe(`${name} driver`, () => {
    let driver: Driver;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ driver, cleanup } = await open());
      await driver.exec('create table items (id int primary key, label text not null); insert into items values (1, $$one$$), (2, $$two$$);');
    });

    afterAll(async () => {
      await driver.close();
      await cleanup();
    });

    it('binds parameters and reports the command and row count', async () => {
      const result = await driver.query<{ label: string }>('select label from items where id = $1', [2]);
      expect(result.rows).toEqual([{ label: 'two' }]);
      expect(result.rowCount).toBe(1);
      expect(result.command).toBe('SELECT');
      expect(result.fields.map((field) => field.name)).toEqual(['label']);
      const update = await driver.query('update items set label = label where id > $1', [0]);
      expect(update.rowCount).toBe(2);
    });

    it('returns values typed as node-postgres returns them', async () => {
      const row = (await driver.query(TYPES_SQL)).rows[0]!;
      expect(row.big).toBe('9007199254740993');
      expect(row.money).toBe('1.50');
      expect(row.at).toBeInstanceOf(Date);
      expect((row.at as Date).toISOString()).toBe('2024-05-01T12:00:00.000Z');
      expect(Buffer.isBuffer(row.blob)).toBe(true);
      expect([...(row.blob as Buffer)]).toEqual([1, 2, 255]);
      expect(row.doc).toEqual({ a: [1, 2] });
      expect(row.list).toEqual([1, 2, 3]);
      expect(row.nothing).toBeNull();
      expect(row.small).toBe(7);
    });

    it('explains a parameterized statement as a JSON plan', async () => {
      const explained = await driver.explain('select * from items where id = $1', [1]);
      expect(explained.plan['Node Type']).toMatch(/Scan/);
      expect(explained.plan['Total Cost']).toBeGreaterThan(0);
      expect(explained.executionTimeMs).toBeNull();
    });

    it('runs EXPLAIN ANALYZE of a write inside a transaction that is rolled back', async () => {
      const explained = await driver.explain('insert into items values ($1, $2)', [3, 'three'], { analyze: true, buffers: true });
      expect(explained.executionTimeMs).not.toBeNull();
      expect(explained.plan['Actual Loops']).toBe(1);
      const count = await driver.query<{ n: number }>('select count(*)::int as n from items');
      expect(count.rows[0]!.n).toBe(2);
    });

    it('commits a transaction that resolves', async () => {
      await driver.transaction(async (session) => {
        await session.query('insert into items values ($1, $2)', [10, 'ten']);
      });
      expect((await driver.query('select 1 from items where id = 10')).rowCount).toBe(1);
    });

    it('rolls back a transaction that throws, and rethrows its error', async () => {
      await expect(
        driver.transaction(async (session) => {
          await session.query('insert into items values ($1, $2)', [11, 'eleven']);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect((await driver.query('select 1 from items where id = 11')).rowCount).toBe(0);
    });

    it('wraps a failing statement in QueryError with its SQLSTATE', async () => {
      const error = await driver.query('select * from no_such_table').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(QueryError);
      expect((error as QueryError).sqlState).toBe('42P01');
      expect((error as QueryError).message).toContain('no_such_table');
    });

    it('runs a multi-statement script with exec', async () => {
      await driver.exec('create table scratch (a int); insert into scratch values (1); insert into scratch values (2);');
      expect((await driver.query('select * from scratch')).rowCount).toBe(2);
    });
  });
}

driverContract('PGlite (in memory)', async () => ({ driver: await openDriver('memory:'), cleanup: async () => {} }));

let schema: TestSchema;
driverContract('node-postgres (real server)', async () => {
  schema = await createTestSchema('qopt_driver');
  return { driver: await openDriver(schema.url), cleanup: () => schema.drop() };
});

describe('openDriver', () => {
  it('reads database locations', () => {
    expect(parseDatabaseLocation('postgres://u@h/db')).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
    expect(parseDatabaseLocation('postgresql://u@h/db').kind).toBe('postgres');
    expect(parseDatabaseLocation('memory:')).toEqual({ kind: 'pglite', dataDir: undefined });
    expect(parseDatabaseLocation('pglite:./data', '/srv')).toEqual({ kind: 'pglite', dataDir: '/srv/data' });
    expect(parseDatabaseLocation(undefined, '/srv')).toEqual({ kind: 'pglite', dataDir: '/srv/.qopt/pglite' });
    expect(() => parseDatabaseLocation('mysql://x')).toThrow(/unsupported database URL/);
  });

  it('fails with ConnectionError naming the target without its password', async () => {
    const error = await openDriver('postgres://alice:s3cret@127.0.0.1:1/db', { connectionTimeoutMs: 2000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    const message = (error as ConnectionError).message;
    expect(message).toContain('postgres://alice:***@127.0.0.1:1/db');
    expect(message).not.toContain('s3cret');
    expect((error as ConnectionError).target).not.toContain('s3cret');
    expect(message).toMatch(/ECONNREFUSED|connect/);
  });

  it('fails with ConnectionError for a database that does not exist', async () => {
    const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
    url.pathname = '/qopt_no_such_database';
    const error = await openDriver(url.toString()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain('qopt_no_such_database');
  });
});
