import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbDriver, DuckDbStatementRefusedError, DuckDbTimeoutError } from '../../src/db/duckdbDriver.js';
import { QueryError } from '../../src/errors.js';

describe('DuckDbDriver', () => {
  let duck: DuckDbDriver;

  beforeEach(async () => {
    duck = await DuckDbDriver.open(':memory:');
    await duck.exec("CREATE TABLE t AS SELECT i AS id, 'v' || i AS label FROM range(10) r(i)");
  });

  afterEach(async () => {
    await duck.close();
  });

  it('answers a repeated statement with each call’s own parameters, of any type', async () => {
    const sql = 'SELECT count(*) AS n, min(label) AS first FROM t WHERE id >= $1';
    expect((await duck.query(sql, [3])).rows).toEqual([{ n: '7', first: 'v3' }]);
    expect((await duck.query(sql, [8])).rows).toEqual([{ n: '2', first: 'v8' }]);
    expect((await duck.query('SELECT $1 AS v', ['2021-01-01'])).rows).toEqual([{ v: '2021-01-01' }]);
    expect((await duck.query('SELECT $1 AS v', [5])).rows).toEqual([{ v: 5 }]);
  });

  it('sees a table replaced after a statement on it was prepared', async () => {
    const sql = 'SELECT * FROM t ORDER BY label LIMIT 1';
    expect((await duck.query(sql)).rows).toEqual([{ id: '0', label: 'v0' }]);
    await duck.exec("CREATE OR REPLACE TABLE t AS SELECT 'only' AS label");
    expect((await duck.query(sql)).rows).toEqual([{ label: 'only' }]);
  });

  it('runs a script of several statements and returns the last one’s rows', async () => {
    expect((await duck.query('CREATE TABLE u (x INTEGER); INSERT INTO u VALUES (1), (2); SELECT sum(x) AS s FROM u')).rows).toEqual([{ s: '3' }]);
  });

  it('never lends a connection left inside a transaction or with a changed setting to the next statement', async () => {
    await duck.query('BEGIN');
    await duck.query("SET TimeZone = 'Asia/Tokyo'");
    expect((await duck.query("SELECT current_setting('TimeZone') AS zone")).rows).not.toEqual([{ zone: 'Asia/Tokyo' }]);
    await duck.query('INSERT INTO t VALUES (10, $1)', ['v10']);
    expect((await duck.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: '11' }]);
  });

  it('reports a failed statement as a QueryError and keeps answering afterwards, concurrently too', async () => {
    await expect(duck.query('SELECT * FROM missing')).rejects.toBeInstanceOf(QueryError);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => duck.query('SELECT count(*) AS n FROM t WHERE id < $1', [index])));
    expect(answers.map((answer) => answer.rows[0]!.n)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
  });
});

describe('DuckDbDriver opened read-only (the analytics copy qo.hybrid and the service read)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qopt-duckdb-ro-'));
  const path = join(dir, 'copy.duckdb');
  const secret = join(dir, 'secret.txt');
  let duck: DuckDbDriver;

  beforeAll(async () => {
    const writer = await DuckDbDriver.open(path);
    await writer.exec('CREATE TABLE t AS SELECT i AS id FROM range(10) r(i)');
    await writer.close();
    writeFileSync(secret, 'not for clients');
    duck = await DuckDbDriver.open(path, { readOnly: true });
  });

  afterAll(async () => {
    await duck.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('selects from its own file, with parameters, prepared once', async () => {
    expect((await duck.select('SELECT count(*) AS n FROM t WHERE id >= $1', [4])).rows).toEqual([{ n: '6' }]);
    expect((await duck.select('SELECT count(*) AS n FROM t WHERE id >= $1', [8])).rows).toEqual([{ n: '2' }]);
    expect((await duck.select('FROM t SELECT max(id) AS m')).rows).toEqual([{ m: '9' }]);
    expect(await duck.syncedTables()).toEqual([]);
  });

  it('finds the tables a statement reads, with parameters and in subqueries too', async () => {
    expect(await duck.tablesOf('SELECT count(*) FROM t')).toEqual(['t']);
    expect(await duck.tablesOf('SELECT count(*) FROM t WHERE id > $1')).toEqual(['t']);
    expect(await duck.tablesOf('SELECT 1 AS one WHERE $1 IN (SELECT id FROM t)')).toEqual(['t']);
  });

  it('refuses anything but exactly one SELECT, by DuckDB\'s own parser', async () => {
    for (const sql of ['SELECT 1; SELECT 2', `COPY (SELECT 1) TO '${join(dir, 'out.csv')}'`, "SET threads = 1", 'CHECKPOINT', `ATTACH '${join(dir, 'other.duckdb')}'`, 'EXPLAIN SELECT 1', 'SELEC 1']) {
      await expect(duck.select(sql), sql).rejects.toBeInstanceOf(DuckDbStatementRefusedError);
    }
    expect(existsSync(join(dir, 'out.csv'))).toBe(false);
    expect(existsSync(join(dir, 'other.duckdb'))).toBe(false);
  });

  it('reaches no file beyond its own, and a statement cannot turn that back on', async () => {
    await expect(duck.select(`SELECT content FROM read_text('${secret}')`)).rejects.toThrow(/disabled by configuration/);
    await expect(duck.select(`SELECT * FROM glob('${dir}/*')`)).rejects.toThrow(/disabled by configuration/);
    await expect(duck.query(`COPY (SELECT 1 AS x) TO '${join(dir, 'written.csv')}'`)).rejects.toThrow(/disabled by configuration/);
    await expect(duck.query('SET enable_external_access = true')).rejects.toThrow(/configuration has been locked/);
    await expect(duck.query('RESET enable_external_access')).rejects.toThrow(/configuration has been locked/);
    await expect(duck.query(`SELECT content FROM read_text('${secret}')`)).rejects.toThrow(/disabled by configuration/);
    expect(existsSync(join(dir, 'written.csv'))).toBe(false);
  });

  it('interrupts a SELECT past its timeout (DuckDbTimeoutError, SQLSTATE 57014) and answers the next one', async () => {
    const started = performance.now();
    const failure = await duck.select('SELECT sum(range) AS s FROM range(3000000000)', [], { timeoutMs: 200 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DuckDbTimeoutError);
    expect(failure).toMatchObject({ sqlState: '57014', timeoutMs: 200 });
    expect(performance.now() - started).toBeLessThan(3000);
    expect((await duck.select('SELECT count(*) AS n FROM t', [], { timeoutMs: 200 })).rows).toEqual([{ n: '10' }]);
  });
});
