import type { Command } from 'commander';
import { readTableGenerations } from '../../cache/tableGenerations.js';
import type { TableGenerationReader } from '../../cache/tableGenerations.js';
import type { Driver } from '../../db/driver.js';
import { DEFAULT_DUCKDB_PATH, DuckDbDriver } from '../../db/duckdbDriver.js';
import { DEFAULT_ENUM_MAX_VALUES } from '../../db/duckdbDictionaries.js';
import { copyFreshness, syncTablesToDuckDb } from '../../db/duckdbSync.js';
import { openDriver, parseDatabaseLocation } from '../../db/openDriver.js';
import { NEEDS_POSTGRES } from '../../db/duckdbSync.js';
import { UsageError } from '../../errors.js';
import { createOptimizer } from '../../optimizer.js';
import { databaseUrlOf, printJson, withDatabaseOption } from '../options.js';

interface DuckDbOptions {
  tables?: string;
  database?: string;
  file?: string;
  orderBy?: string;
  enumMaxValues?: string;
  redis?: string;
  json?: boolean;
}

/** Why a sync recorded no cache generations. */
const NO_GENERATION_STORE =
  "no shared cache generation store reachable (give --redis or REDIS_URL: the Redis qopt's instances share): recorded none; a stale copy is detected by PostgreSQL's counters only, published up to seconds after a write";

/**
 * Runs `work` with a reader of the result cache's table generations from the Redis the running instances share,
 * or with none when no Redis is configured or reachable: another process's memory-only cache cannot be read.
 */
async function withGenerationStore<T>(source: Driver, options: DuckDbOptions, work: (generations: TableGenerationReader | undefined) => Promise<T>): Promise<T> {
  const url = options.redis ?? process.env.QOPT_REDIS_URL ?? process.env.REDIS_URL;
  if (!url) return work(undefined);
  const qo = await createOptimizer({ driver: source, redis: { url }, cache: { changeCapture: false, warmUp: false } });
  try {
    const redis = qo.cache.redis;
    return await work(redis?.isAvailable ? (tables) => readTableGenerations(qo.cache, tables) : undefined);
  } finally {
    await qo.close();
  }
}

function duckdbPathOf(options: DuckDbOptions): string {
  return options.file ?? process.env.QOPT_DUCKDB_PATH ?? DEFAULT_DUCKDB_PATH;
}

/** `--order-by prices:date,events:at+id` → { prices: ['date'], events: ['at', 'id'] }. */
function orderByOf(specs: string | undefined): Record<string, string[]> | undefined {
  if (specs === undefined) return undefined;
  const orderBy: Record<string, string[]> = {};
  for (const spec of specs.split(',').map((part) => part.trim()).filter(Boolean)) {
    const [table, columns] = spec.split(':');
    if (!table || columns === undefined) throw new UsageError(`--order-by takes table:column pairs, got "${spec}"`);
    orderBy[table] = columns.split('+').map((column) => column.trim()).filter(Boolean);
  }
  return orderBy;
}

function enumMaxValuesOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`--enum-max-values takes a whole number (0 keeps every text column VARCHAR), got "${value}"`);
  return limit;
}

/** `qopt duckdb sync | status`: the DuckDB analytics copy of PostgreSQL tables. */
export function registerDuckDb(program: Command): void {
  const duckdb = program.command('duckdb').description('the DuckDB analytics copy used by hybrid queries');
  withDatabaseOption(
    duckdb
      .command('sync')
      .description('copy PostgreSQL tables into the DuckDB file (one snapshot), stamping each with its generation so a stale copy is detected')
      .requiredOption('--tables <list>', 'comma-separated table names')
      .option('--file <path>', `DuckDB file (default $QOPT_DUCKDB_PATH, else ${DEFAULT_DUCKDB_PATH})`)
      .option('--order-by <specs>', 'sort copies for range filters: table:col[+col] pairs, comma-separated ("prices:date"; "prices:" keeps source order); default: each table\'s first date / timestamp column')
      .option('--enum-max-values <n>', `copy text columns with at most n distinct values (repeated, or compared with such a column) as ENUMs; 0: all VARCHAR (default ${DEFAULT_ENUM_MAX_VALUES})`)
      .option('--redis <url>', "the Redis qopt's instances share, to record the result cache's generation of each table (default: $REDIS_URL)")
      .option('--json', 'print the report as JSON')
      .exitOverride(),
  ).action(async (options: DuckDbOptions) => {
    const enumMaxValues = enumMaxValuesOf(options.enumMaxValues);
    const tables = (options.tables ?? '').split(',').map((name) => name.trim()).filter(Boolean);
    const url = databaseUrlOf(options);
    if (parseDatabaseLocation(url).kind !== 'postgres') throw new UsageError(NEEDS_POSTGRES);
    const source = await openDriver(url);
    try {
      const { report, generationStore } = await withGenerationStore(source, options, async (generations) => ({
        report: await syncTablesToDuckDb(source, duckdbPathOf(options), tables, (message) => process.stderr.write(`${message}\n`), { orderBy: orderByOf(options.orderBy), enumMaxValues, generations }),
        generationStore: generations ? ('redis' as const) : null,
      }));
      if (options.json) return printJson({ ...report, generationStore, ...(generationStore ? {} : { note: NO_GENERATION_STORE }) });
      for (const table of report.tables) {
        const order = table.orderedBy.length > 0 ? `, sorted by ${table.orderedBy.join(', ')}` : '';
        const enums = table.enumColumns.length > 0 ? `, ENUM: ${table.enumColumns.join(', ')}` : '';
        process.stdout.write(`${table.table}: ${table.rows.toLocaleString('en-US')} rows in ${table.seconds.toFixed(1)} s (generation ${table.stamp}${order}${enums})\n`);
      }
      process.stdout.write(`written to ${report.path}\n`);
      process.stdout.write(generationStore ? "cache generations recorded from Redis: a write through qopt marks a copy stale at once\n" : `${NO_GENERATION_STORE}\n`);
    } finally {
      await source.close();
    }
  });
  withDatabaseOption(
    duckdb
      .command('status')
      .description('which tables the DuckDB file holds and whether each is still as fresh as PostgreSQL')
      .option('--file <path>', `DuckDB file (default $QOPT_DUCKDB_PATH, else ${DEFAULT_DUCKDB_PATH})`)
      .option('--redis <url>', "the Redis qopt's instances share, to compare the result cache's generations too (default: $REDIS_URL)")
      .option('--json', 'print as JSON')
      .exitOverride(),
  ).action(async (options: DuckDbOptions) => {
    const duck = await DuckDbDriver.open(duckdbPathOf(options), { readOnly: true });
    const source = await openDriver(databaseUrlOf(options));
    try {
      const synced = await duck.syncedTables();
      const freshness = await withGenerationStore(source, options, (generations) => copyFreshness(source, synced, generations));
      if (options.json) return printJson(synced.map((entry, index) => ({ ...entry, fresh: freshness[index]!.fresh })));
      if (synced.length === 0) process.stdout.write('nothing synced yet: qopt duckdb sync --tables a,b\n');
      synced.forEach((entry, index) => {
        const state = freshness[index]!.fresh ? 'fresh' : 'STALE (run qopt duckdb sync again)';
        process.stdout.write(`${entry.table}: ${entry.rows.toLocaleString('en-US')} rows, synced ${entry.syncedAt} — ${state}\n`);
      });
    } finally {
      await source.close();
      await duck.close();
    }
  });
}
