import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { generationHolds } from '../cache/tableGenerations.js';
import type { TableGeneration, TableGenerationReader } from '../cache/tableGenerations.js';
import { UsageError } from '../errors.js';
import type { Driver, DriverSession } from './driver.js';
import { createDictionaries, DEFAULT_ENUM_MAX_VALUES, dropDictionaries } from './duckdbDictionaries.js';
import type { Dictionary, ForeignKeyLink, StagedCopy } from './duckdbDictionaries.js';
import { DuckDbDriver, SYNC_TABLE } from './duckdbDriver.js';
import type { DuckDbSession, SyncedTable } from './duckdbDriver.js';
import { PgDriver } from './pgDriver.js';

/** How one synced table compares with its source now. */
export interface CopyFreshness {
  table: string;
  /** Neither PostgreSQL's stamp nor (when both are known and comparable) the cache's generation moved. */
  fresh: boolean;
  syncedStamp: string;
  currentStamp: string | null;
  /** The result cache's generation of the table at copy time; null when the sync could read none. */
  syncedGeneration: string | null;
  /** The result cache's generation now; null when no cache was given or it could not be read. */
  currentGeneration: string | null;
}

/** What `syncTablesToDuckDb` copied. */
export interface SyncReport {
  /** `orderedBy`: the columns the copy is sorted by (empty: source order); `enumColumns`: the text columns copied as ENUMs. */
  tables: Array<{ table: string; rows: number; stamp: string; cacheGeneration: TableGeneration | null; seconds: number; orderedBy: string[]; enumColumns: string[] }>;
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
  /**
   * Text columns with at most this many distinct values, each repeated four times or more on average (or
   * compared with such a column: the same name, or a declared foreign key), are copied as ENUMs with one
   * dictionary per group, so joins and GROUP BY on them run on integer codes. Default 65,535; 0 keeps VARCHAR.
   */
  enumMaxValues?: number;
  /**
   * Reads the result cache's generation of each table (`readTableGenerations`), recorded beside PostgreSQL's
   * stamp: a write through qopt moves it at once, where PostgreSQL publishes its counts up to seconds late.
   * Without it (or where it reads null) only PostgreSQL's stamp detects a stale copy.
   */
  generations?: TableGenerationReader;
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
/** PostgreSQL's text types: the only candidates for an ENUM copy. */
const TEXT_COLUMN = /^(text|character varying|character)(\(\d+\))?$/;
/** Why a sync from the embedded database is refused. */
export const NEEDS_POSTGRES = 'qopt duckdb sync needs a PostgreSQL server (postgres://…) as its source';
const NULL_MARK = '\\N';

/**
 * A table's generation stamp from PostgreSQL itself: its relfilenode (changes on TRUNCATE and table
 * rewrites) and its cumulative insert / update / delete counts. It changes with every committed write
 * from any process, once published: a backend publishes its counts when idle but at most once a second,
 * else after 10 s idle (60 s at most), so a copy taken right after a write may be flagged stale once —
 * never the reverse (docs/service.md, "Hybrid queries").
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

/**
 * Compares what a DuckDB file holds with the source tables now: stale when PostgreSQL's stamp moved, or when
 * the result cache's generation (read with `generations`, when given) moved — whichever notices first.
 */
export async function copyFreshness(source: DriverSession, synced: readonly SyncedTable[], generations?: TableGenerationReader): Promise<CopyFreshness[]> {
  const tables = synced.map((entry) => entry.table);
  const stamps = await tableStamps(source, tables);
  const current = generations && synced.some((entry) => entry.cacheGeneration !== null) ? await generations(tables) : new Map<string, null>();
  return synced.map((entry) => {
    const currentStamp = stamps.get(entry.table) ?? null;
    const currentGeneration = current.get(entry.table) ?? null;
    const fresh = currentStamp === entry.stamp && generationHolds(entry.cacheGeneration, currentGeneration) !== false;
    return { table: entry.table, fresh, syncedStamp: entry.stamp, currentStamp, syncedGeneration: entry.cacheGeneration, currentGeneration };
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

interface StagedTable extends StagedCopy {
  source: string;
  stamp: string;
  cacheGeneration: TableGeneration | null;
  columns: SourceColumn[];
  orderedBy: string[];
  seconds: number;
}

/** Copies one table's rows into a TEMP table of the sync's DuckDB session, with the column types mapped from PostgreSQL. */
async function stageTable(client: pg.PoolClient, session: DuckDbSession, table: string, file: string, index: number): Promise<Omit<StagedTable, 'stamp' | 'cacheGeneration' | 'orderedBy'>> {
  const started = performance.now();
  const columns = await sourceColumns(client, table);
  const rows = await writeCsv(client, table, file);
  const staging = `_qopt_staging_${index}`;
  const csvColumns = columns.map((column) => `'${column.name.replace(/'/g, "''")}': '${duckDbTypeOf(column.type)}'`).join(', ');
  await session.exec(
    `CREATE OR REPLACE TEMP TABLE ${staging} AS SELECT * FROM read_csv('${file}', columns = {${csvColumns}}, header = false, nullstr = '\\N', allow_quoted_nulls = false, quote = '"', escape = '"', delim = ',')`,
  );
  rmSync(file, { force: true });
  const textColumns = columns.filter((column) => TEXT_COLUMN.test(column.type)).map((column) => column.name);
  return { source: table, table: table.split('.').pop()!, staging, rows, textColumns, columns, seconds: (performance.now() - started) / 1000 };
}

/** Declared single-column foreign keys among the copied tables (and copies already in the file). */
async function foreignKeyLinks(client: pg.PoolClient, tables: readonly string[]): Promise<ForeignKeyLink[]> {
  const result = await client.query<{ child: string; child_column: string; parent: string; parent_column: string }>(
    `WITH t AS (SELECT name, to_regclass(name)::oid AS oid FROM unnest($1::text[]) AS name)
     SELECT ct.name AS child, a.attname AS child_column, pt.name AS parent, b.attname AS parent_column
     FROM pg_constraint c JOIN t ct ON ct.oid = c.conrelid JOIN t pt ON pt.oid = c.confrelid
     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = c.confkey[1]
     WHERE c.contype = 'f' AND cardinality(c.conkey) = 1`,
    [tables],
  );
  const copyOf = (name: string) => name.split('.').pop()!;
  return result.rows.map((row) => ({ from: { table: copyOf(row.child), column: row.child_column }, to: { table: copyOf(row.parent), column: row.parent_column } }));
}

/** Replaces one copy and its sync record in one DuckDB transaction. */
async function writeCopy(session: DuckDbSession, table: StagedTable, dictionaries: readonly Dictionary[], sourceTarget: string): Promise<string[]> {
  const started = performance.now();
  const typeOf = (column: SourceColumn) =>
    dictionaries.find((dictionary) => dictionary.columns.some((entry) => entry.table === table.table && entry.column === column.name))?.type ?? duckDbTypeOf(column.type);
  const target = quoteIdentifier(table.table);
  const definition = table.columns.map((column) => `${quoteIdentifier(column.name)} ${typeOf(column)}`).join(', ');
  const select = table.columns.map((column) => `${quoteIdentifier(column.name)}::${typeOf(column)}`).join(', ');
  const orderClause = table.orderedBy.length > 0 ? ` ORDER BY ${table.orderedBy.map(quoteIdentifier).join(', ')}` : '';
  const name = table.source.replace(/'/g, "''");
  const generation = table.cacheGeneration === null ? 'NULL' : `'${table.cacheGeneration.replace(/'/g, "''")}'`;
  try {
    await session.exec(
      `BEGIN; CREATE OR REPLACE TABLE ${target} (${definition});
       INSERT INTO ${target} SELECT ${select} FROM ${table.staging}${orderClause};
       DELETE FROM ${SYNC_TABLE} WHERE table_name = '${name}';
       INSERT INTO ${SYNC_TABLE} (table_name, source, stamp, rows, synced_at, cache_generation)
       VALUES ('${name}', '${sourceTarget.replace(/'/g, "''")}', '${table.stamp}', ${table.rows}, now()::timestamp, ${generation}); COMMIT;`,
    );
  } catch (error) {
    // The session goes on (dropping the dictionaries): leave the failed transaction first. The copy stays as it was.
    await session.exec('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await session.exec(`DROP TABLE ${table.staging}`);
  table.seconds += (performance.now() - started) / 1000;
  return table.columns.filter((column) => typeOf(column) !== duckDbTypeOf(column.type)).map((column) => column.name);
}

/** Held while a sync of `target` runs: two syncs of one file would each rename their copy over the other's. */
function lockSync(target: string): () => void {
  const lock = `${target}.sync-lock`;
  let fd: number;
  try {
    fd = openSync(lock, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new UsageError(`another qopt duckdb sync of ${target} is running (if none is, a crashed one left ${lock}: remove it)`);
  }
  writeSync(fd, `${process.pid}\n`);
  closeSync(fd);
  return () => rmSync(lock, { force: true });
}

/**
 * A new file beside `target` that starts as a copy of it (and of its WAL, if a writer left one), so a sync
 * keeps the copies and dictionaries it does not replace. Readers keep `target` open READ_ONLY meanwhile.
 */
function stageFile(target: string): string {
  const staging = `${target}.sync-${process.pid}-${randomBytes(4).toString('hex')}`;
  // A reflink where the file system has them (btrfs, XFS): no byte copied until the sync writes.
  if (existsSync(target)) copyFileSync(target, staging, constants.COPYFILE_FICLONE);
  if (existsSync(`${target}.wal`)) copyFileSync(`${target}.wal`, `${staging}.wal`);
  return staging;
}

/**
 * Puts the staged file in place by rename(2), atomic within a directory: a reader opening `target` sees the
 * old file or the new one, and readers of the old one go on reading it until they reopen (they notice the new
 * inode). The staged file was checkpointed and closed, so it has no WAL; the old file's WAL must go first, or
 * DuckDB would replay it onto the new file.
 */
function putInPlace(staging: string, target: string): void {
  if (existsSync(`${staging}.wal`)) throw new Error(`DuckDB left ${staging}.wal after CHECKPOINT and close: not replacing ${target}`);
  rmSync(`${target}.wal`, { force: true });
  renameSync(staging, target);
}

/**
 * Copies PostgreSQL tables into a DuckDB file, all from one REPEATABLE READ snapshot, and records each
 * table's generation stamp and the result cache's generation of it (both taken before the snapshot, so a
 * write racing the copy marks it stale). The sync
 * writes a new file and renames it over the old one, so readers holding the old one open never block it.
 * Low-cardinality text columns become ENUMs (`createDictionaries`), one shared dictionary per group of
 * columns that are compared with each other.
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
  // The cache's generations first: a write between the two reads then moves both, or only PostgreSQL's stamp.
  const generations = options.generations ? await options.generations(tables) : new Map<string, null>();
  const stamps = await tableStamps(source, tables);
  const missing = tables.find((table) => !stamps.get(table));
  if (missing) throw new UsageError(`table "${missing}" does not exist in the source database`);
  const target = resolve(duckdbPath);
  mkdirSync(dirname(target), { recursive: true });
  const unlock = lockSync(target);
  let staging: string;
  let duck: DuckDbDriver;
  try {
    staging = stageFile(target);
    duck = await DuckDbDriver.open(staging);
  } catch (error) {
    unlock();
    throw error;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'qopt-sync-'));
  const client = await source.pool.connect();
  const report: SyncReport = { tables: [], path: target };
  let written = false;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'");
    await duck.session(async (session) => {
      await session.exec(`CREATE TABLE IF NOT EXISTS ${SYNC_TABLE} (table_name VARCHAR PRIMARY KEY, source VARCHAR, stamp VARCHAR, rows BIGINT, synced_at TIMESTAMP)`);
      // Files written before the cache's generation was recorded lack the column.
      await session.exec(`ALTER TABLE ${SYNC_TABLE} ADD COLUMN IF NOT EXISTS cache_generation VARCHAR`);
      const staged: StagedTable[] = [];
      for (const [index, table] of tables.entries()) {
        log(`copying ${table}`);
        const copy = await stageTable(client, session, table, join(scratch, `${index}.csv`), index);
        staged.push({ ...copy, stamp: stamps.get(table)!, cacheGeneration: generations.get(table) ?? null, orderedBy: sortColumns(table, copy.columns, options) });
      }
      const earlier = (await session.query(`SELECT table_name FROM ${SYNC_TABLE}`)).rows.map((row) => String(row.table_name));
      const links = await foreignKeyLinks(client, [...new Set([...tables, ...earlier])]);
      const dictionaries = await createDictionaries(session, staged, links, options.enumMaxValues ?? DEFAULT_ENUM_MAX_VALUES);
      try {
        for (const table of staged) {
          const enumColumns = await writeCopy(session, table, dictionaries, source.target);
          report.tables.push({ table: table.source, rows: table.rows, stamp: table.stamp, cacheGeneration: table.cacheGeneration, seconds: table.seconds, orderedBy: table.orderedBy, enumColumns });
        }
      } finally {
        await dropDictionaries(session, dictionaries);
      }
      await session.exec('CHECKPOINT');
    });
    await client.query('COMMIT');
    written = true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
    await duck.close();
    rmSync(scratch, { recursive: true, force: true });
    try {
      if (written) putInPlace(staging, target);
    } finally {
      rmSync(staging, { force: true });
      rmSync(`${staging}.wal`, { force: true });
      unlock();
    }
  }
  return report;
}
