import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { UsageError } from '../errors.js';
import type { Driver, DriverSession } from './driver.js';
import { DuckDbDriver, SYNC_TABLE } from './duckdbDriver.js';
import type { SyncedTable } from './duckdbDriver.js';
import { PgDriver } from './pgDriver.js';

/** How one synced table compares with its source now. */
export interface CopyFreshness {
  table: string;
  fresh: boolean;
  syncedStamp: string;
  currentStamp: string | null;
}

/** What `syncTablesToDuckDb` copied. */
export interface SyncReport {
  /** `orderedBy`: the columns the copy is sorted by (empty: source order). */
  tables: Array<{ table: string; rows: number; stamp: string; seconds: number; orderedBy: string[] }>;
  path: string;
}

/** Options of a sync. */
export interface SyncOptions {
  /**
   * Columns to sort each table's copy by (table → columns). DuckDB keeps min / max per row group, so a
   * copy sorted by the column analytic queries filter on (a date range, mostly) lets them skip most of
   * the table. Default: the table's first date or timestamp column, if it has one; `[]` keeps source order.
   */
  orderBy?: Readonly<Record<string, readonly string[]>>;
}

const TIME_TYPES = new Set(['date', 'timestamp without time zone', 'timestamp with time zone']);

/** The columns a table's copy is sorted by: as asked, else its first date / timestamp column. */
function sortColumns(table: string, columns: readonly SourceColumn[], options: SyncOptions): string[] {
  const asked = options.orderBy?.[table];
  if (asked) {
    const unknown = asked.find((name) => !columns.some((column) => column.name === name));
    if (unknown) throw new UsageError(`cannot order the copy of "${table}" by "${unknown}": no such column`);
    return [...asked];
  }
  const time = columns.find((column) => TIME_TYPES.has(column.type));
  return time ? [time.name] : [];
}

const ROWS_PER_BATCH = 20_000;
/** Why a sync from the embedded database is refused. */
export const NEEDS_POSTGRES = 'qopt duckdb sync needs a PostgreSQL server (postgres://…) as its source';
const NULL_MARK = '\\N';

/**
 * A table's generation stamp from PostgreSQL itself: its relfilenode (changes on TRUNCATE and table
 * rewrites) and its cumulative insert / update / delete counts. It changes with every committed write
 * from any process; PostgreSQL publishes a backend's counts when that backend goes idle (about a second
 * at most), so a copy taken right after a write may be flagged stale once — never the reverse.
 */
export async function tableStamps(driver: DriverSession, tables: readonly string[]): Promise<Map<string, string | null>> {
  const stamps = new Map<string, string | null>();
  for (const table of tables) {
    const result = await driver.query<{ stamp: string | null }>(
      `SELECT c.relfilenode || ':' || s.n_tup_ins || ':' || s.n_tup_upd || ':' || s.n_tup_del AS stamp
       FROM pg_class c JOIN pg_stat_all_tables s ON s.relid = c.oid WHERE c.oid = to_regclass($1)`,
      [table],
    );
    stamps.set(table, result.rows[0]?.stamp ?? null);
  }
  return stamps;
}

/** Compares what a DuckDB file holds with the source tables' current stamps. */
export async function copyFreshness(source: DriverSession, synced: readonly SyncedTable[]): Promise<CopyFreshness[]> {
  const stamps = await tableStamps(
    source,
    synced.map((entry) => entry.table),
  );
  return synced.map((entry) => {
    const currentStamp = stamps.get(entry.table) ?? null;
    return { table: entry.table, fresh: currentStamp === entry.stamp, syncedStamp: entry.stamp, currentStamp };
  });
}

interface SourceColumn {
  name: string;
  type: string;
}

// PostgreSQL types DuckDB reads exactly from their text form; everything else is copied as VARCHAR.
function duckDbTypeOf(pgType: string): string {
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(pgType);
  if (numeric) return Number(numeric[1]) <= 38 ? `DECIMAL(${numeric[1]},${numeric[2]})` : 'DOUBLE';
  const exact: Record<string, string> = {
    bigint: 'BIGINT',
    integer: 'INTEGER',
    smallint: 'SMALLINT',
    numeric: 'DOUBLE',
    'double precision': 'DOUBLE',
    real: 'FLOAT',
    boolean: 'BOOLEAN',
    date: 'DATE',
    'timestamp without time zone': 'TIMESTAMP',
    'timestamp with time zone': 'TIMESTAMPTZ',
    uuid: 'UUID',
  };
  return exact[pgType] ?? 'VARCHAR';
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return NULL_MARK;
  return `"${String(value).replace(/"/g, '""')}"`;
}

async function sourceColumns(client: pg.PoolClient, table: string): Promise<SourceColumn[]> {
  const result = await client.query<SourceColumn>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
     FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table],
  );
  if (result.rows.length === 0) throw new UsageError(`table "${table}" does not exist in the source database`);
  return result.rows;
}

// Every value as PostgreSQL's text form: DuckDB parses it by the declared column type.
const TEXT_TYPES = { getTypeParser: () => (value: string) => value };

async function writeCsv(client: pg.PoolClient, table: string, file: string): Promise<number> {
  const out = createWriteStream(file);
  const cursor = client.query(new Cursor(`SELECT * FROM ${table}`, [], { rowMode: 'array', types: TEXT_TYPES }));
  let rows = 0;
  try {
    for (;;) {
      const batch = (await cursor.read(ROWS_PER_BATCH)) as unknown[][];
      if (batch.length === 0) break;
      rows += batch.length;
      const text = batch.map((row) => row.map(csvField).join(',')).join('\n') + '\n';
      if (!out.write(text)) await once(out, 'drain');
    }
  } finally {
    await cursor.close();
    out.end();
    await once(out, 'close');
  }
  return rows;
}

/**
 * Copies PostgreSQL tables into a DuckDB file, all from one REPEATABLE READ snapshot, and records each
 * table's generation stamp (taken before the snapshot, so a write racing the copy marks it stale).
 */
export async function syncTablesToDuckDb(
  source: Driver,
  duckdbPath: string,
  tables: readonly string[],
  log: (message: string) => void = () => {},
  options: SyncOptions = {},
): Promise<SyncReport> {
  if (!(source instanceof PgDriver)) throw new UsageError(NEEDS_POSTGRES);
  if (tables.length === 0) throw new UsageError('name at least one table: --tables a,b');
  const stamps = await tableStamps(source, tables);
  const duck = await DuckDbDriver.open(duckdbPath);
  const scratch = mkdtempSync(join(tmpdir(), 'qopt-sync-'));
  const client = await source.pool.connect();
  const report: SyncReport = { tables: [], path: duck.path };
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'");
    await duck.exec(`CREATE TABLE IF NOT EXISTS ${SYNC_TABLE} (table_name VARCHAR PRIMARY KEY, source VARCHAR, stamp VARCHAR, rows BIGINT, synced_at TIMESTAMP)`);
    for (const table of tables) {
      const started = performance.now();
      const stamp = stamps.get(table);
      if (!stamp) throw new UsageError(`table "${table}" does not exist in the source database`);
      const columns = await sourceColumns(client, table);
      const file = join(scratch, `${table.replace(/\W/g, '_')}.csv`);
      log(`copying ${table}`);
      const rows = await writeCsv(client, table, file);
      const target = quoteIdentifier(table.split('.').pop()!);
      const definition = columns.map((column) => `${quoteIdentifier(column.name)} ${duckDbTypeOf(column.type)}`).join(', ');
      const csvColumns = columns.map((column) => `'${column.name.replace(/'/g, "''")}': '${duckDbTypeOf(column.type)}'`).join(', ');
      const orderedBy = sortColumns(table, columns, options);
      const orderClause = orderedBy.length > 0 ? ` ORDER BY ${orderedBy.map(quoteIdentifier).join(', ')}` : '';
      await duck.exec(
        `BEGIN; CREATE OR REPLACE TABLE ${target} (${definition});
         INSERT INTO ${target} SELECT * FROM read_csv('${file}', columns = {${csvColumns}}, header = false, nullstr = '\\N', allow_quoted_nulls = false, quote = '"', escape = '"', delim = ',')${orderClause};
         DELETE FROM ${SYNC_TABLE} WHERE table_name = '${table.replace(/'/g, "''")}';
         INSERT INTO ${SYNC_TABLE} VALUES ('${table.replace(/'/g, "''")}', '${source.target.replace(/'/g, "''")}', '${stamp}', ${rows}, now()::timestamp); COMMIT;`,
      );
      rmSync(file, { force: true });
      report.tables.push({ table, rows, stamp, seconds: (performance.now() - started) / 1000, orderedBy });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
    await duck.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  return report;
}
