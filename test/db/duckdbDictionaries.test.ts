import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from '../../src/db/driver.js';
import { DuckDbDriver } from '../../src/db/duckdbDriver.js';
import { copyFreshness, syncTablesToDuckDb } from '../../src/db/duckdbSync.js';
import { openDriver } from '../../src/db/openDriver.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'qopt-duckdb-dict-'));

async function inCopy<T>(path: string, work: (duck: DuckDbDriver) => Promise<T>): Promise<T> {
  const duck = await DuckDbDriver.open(path, { readOnly: true });
  try {
    return await work(duck);
  } finally {
    await duck.close();
  }
}

async function typeOf(duck: DuckDbDriver, table: string, column: string): Promise<string> {
  const result = await duck.query(`SELECT typeof("${column}") AS t FROM "${table}" LIMIT 1`);
  return String(result.rows[0]!.t);
}

const SECTOR_QUERY = `SELECT k.sector, count(*) AS trades, sum(t.qty) AS qty FROM trades t JOIN tickers k ON k.code = t.ticker
  WHERE t.venue <> 'dark' GROUP BY k.sector ORDER BY k.sector`;

describe('ENUM dictionaries in the DuckDB copy', () => {
  let schema: TestSchema;
  let source: Driver;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_dict');
    source = await openDriver(schema.url);
    // Sectors include values whose byte order differs from a case-insensitive order ('Zeta' < 'alpha'), and a NULL.
    await source.exec(`
      CREATE TABLE tickers (code text PRIMARY KEY, sector text, name text NOT NULL);
      INSERT INTO tickers SELECT 'T' || i, (ARRAY['alpha', 'Zeta', 'beta', NULL])[i % 4 + 1], 'Company ' || i FROM generate_series(1, 40) AS i;
      CREATE TABLE trades (id bigint PRIMARY KEY, ticker text NOT NULL REFERENCES tickers (code), venue varchar(8) NOT NULL, qty bigint NOT NULL, memo text);
      INSERT INTO trades SELECT i, 'T' || (i % 39 + 1), (ARRAY['lit', 'dark', 'auction'])[i % 3 + 1], i, 'memo ' || i FROM generate_series(1, 4000) AS i;
      ANALYZE tickers, trades;`);
    // A copy's stamp includes the tables' write counts, which PostgreSQL publishes when the writing backend
    // goes idle — later when other backends hold the statistics locks. Wait until this load's counts are
    // published, so no test here sees a stamp move without a write (the product flags that copy stale once).
    for (let attempt = 0; ; attempt += 1) {
      const { rows } = await source.query<{ published: boolean }>(
        `SELECT coalesce(sum(n_tup_ins) FILTER (WHERE relname = 'tickers'), 0) >= 40 AND coalesce(sum(n_tup_ins) FILTER (WHERE relname = 'trades'), 0) >= 4000 AS published
           FROM pg_stat_user_tables WHERE schemaname = current_schema()`,
      );
      if (rows[0]!.published) break;
      if (attempt >= 300) throw new Error('PostgreSQL did not publish the write counts of the test tables within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  afterAll(async () => {
    await source.close();
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies low-cardinality text columns as ENUMs and leaves distinct-per-row text as VARCHAR', async () => {
    const path = join(dir, 'both.duckdb');
    const report = await syncTablesToDuckDb(source, path, ['tickers', 'trades']);
    expect(report.tables.map((table) => [table.table, table.enumColumns])).toEqual([
      // tickers.code is unique, but it is the parent of trades.ticker's foreign key, so it shares its dictionary.
      ['tickers', ['code', 'sector']],
      ['trades', ['ticker', 'venue']],
    ]);
    await inCopy(path, async (duck) => {
      expect(await typeOf(duck, 'trades', 'memo')).toBe('VARCHAR');
      expect(await typeOf(duck, 'tickers', 'name')).toBe('VARCHAR');
      expect(await typeOf(duck, 'tickers', 'sector')).toMatch(/^ENUM\(/);
      // One dictionary for both ends of the foreign key: the join compares codes, not strings.
      expect(await typeOf(duck, 'trades', 'ticker')).toBe(await typeOf(duck, 'tickers', 'code'));
      // The types were only constructors: the copies keep their dictionaries, the catalog keeps no type.
      expect((await duck.query('SELECT count(*) AS n FROM duckdb_types() WHERE NOT internal')).rows).toEqual([{ n: '0' }]);
    });
  });

  it('answers joins, GROUP BY, ORDER BY and comparisons exactly as PostgreSQL, with strings and NULLs in the results', async () => {
    const path = join(dir, 'both.duckdb');
    const expected = (await source.query(SECTOR_QUERY.replace('ORDER BY k.sector', 'ORDER BY k.sector COLLATE "C"'))).rows;
    await inCopy(path, async (duck) => {
      expect((await duck.query(SECTOR_QUERY)).rows).toEqual(expected.map((row) => ({ ...row, trades: String(row.trades), qty: String(row.qty) })));
      expect((await duck.query('SELECT DISTINCT sector FROM tickers ORDER BY sector NULLS LAST')).rows.map((row) => row.sector)).toEqual(['Zeta', 'alpha', 'beta', null]);
      expect((await duck.query("SELECT count(*) AS n FROM tickers WHERE sector < 'b'")).rows).toEqual([{ n: '20' }]);
      expect((await duck.query('SELECT count(*) AS n FROM trades WHERE ticker = $1', ['T404'])).rows).toEqual([{ n: '0' }]);
      const filtered = "SELECT count(*) AS n FROM trades WHERE venue LIKE 'a%' AND ticker IN ('T3', 'nope')";
      expect((await duck.query(filtered)).rows).toEqual((await source.query(filtered)).rows);
      expect((await duck.query("SELECT ticker || '/' || venue AS label FROM trades WHERE id = 1")).rows).toEqual([{ label: 'T2/dark' }]);
    });
  });

  it('keeps VARCHAR when enumMaxValues is 0', async () => {
    const path = join(dir, 'plain.duckdb');
    const report = await syncTablesToDuckDb(source, path, ['tickers', 'trades'], () => {}, { enumMaxValues: 0 });
    expect(report.tables.flatMap((table) => table.enumColumns)).toEqual([]);
    await inCopy(path, async (duck) => expect(await typeOf(duck, 'trades', 'venue')).toBe('VARCHAR'));
  });

  it('keeps VARCHAR for a group with more distinct values than enumMaxValues', async () => {
    const path = join(dir, 'small.duckdb');
    const report = await syncTablesToDuckDb(source, path, ['tickers', 'trades'], () => {}, { enumMaxValues: 3 });
    expect(report.tables.map((table) => [table.table, table.enumColumns])).toEqual([
      ['tickers', ['sector']],
      ['trades', ['venue']],
    ]);
  });

  it('re-syncing one table of a pair keeps the dictionary it shares with the copy it does not replace, and stays fresh', async () => {
    const path = join(dir, 'partial.duckdb');
    await syncTablesToDuckDb(source, path, ['tickers', 'trades']);
    const before = await inCopy(path, (duck) => typeOf(duck, 'tickers', 'code'));
    // T40 has no trades: a dictionary built from trades alone would lack it.
    const report = await syncTablesToDuckDb(source, path, ['trades']);
    expect(report.tables[0]!.enumColumns).toEqual(['ticker', 'venue']);
    await inCopy(path, async (duck) => {
      expect(await typeOf(duck, 'trades', 'ticker')).toBe(before);
      expect(await typeOf(duck, 'tickers', 'code')).toBe(before);
      expect((await copyFreshness(source, await duck.syncedTables())).map((entry) => [entry.table, entry.fresh])).toEqual([
        ['tickers', true],
        ['trades', true],
      ]);
    });
  });
});
