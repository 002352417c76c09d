import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbDriver } from '../../src/db/duckdbDriver.js';
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
