import type { DriverSession } from './driver.js';
import type { DuckDbDriver } from './duckdbDriver.js';
import { StaleCopyError } from './duckdbDriver.js';
import { copyFreshness } from './duckdbSync.js';
import type { CopyFreshness } from './duckdbSync.js';

/** One side of a hybrid query: a statement and its positional parameters. */
export interface HybridStatement {
  sql: string;
  params?: readonly unknown[];
}

type Rows = Array<Record<string, unknown>>;

/** What runs the PostgreSQL side: the query pipeline, or the service's guarded runner. */
export interface HybridSource {
  query(sql: string, params: readonly unknown[]): Promise<{ rows: Rows; rowCount: number }>;
}

/** `qo.hybrid`'s request (the seed's `execute_hybrid_query`): a PostgreSQL side, a DuckDB side, and how to combine them. */
export interface HybridRequest<C = Rows> {
  postgresql: HybridStatement;
  duckdb: HybridStatement;
  /** Combines both sides' rows; without it `combined` is null. */
  combine?: (postgresql: Rows, duckdb: Rows) => C;
  /** Run the DuckDB side even when its copy is older than PostgreSQL (otherwise StaleCopyError). */
  allowStale?: boolean;
  /** Interrupts the DuckDB side after this long (DuckDbTimeoutError); `qo.hybrid`'s default is `executor.queryTimeoutSeconds`. */
  timeoutMs?: number;
}

/** Both sides' rows, the combination, and what each side cost. */
export interface HybridResult<C = Rows> {
  postgresql: { rows: Rows; rowCount: number };
  duckdb: { rows: Rows; rowCount: number; freshness: CopyFreshness[] };
  combined: C | null;
  executionTimeMs: { postgresql: number; duckdb: number; total: number };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** Checks the freshness of every synced table the DuckDB statement reads; unsynced tables are DuckDB's own. */
async function freshnessOf(source: DriverSession, duck: DuckDbDriver, sql: string): Promise<CopyFreshness[]> {
  const read = new Set(await duck.tablesOf(sql));
  const synced = (await duck.syncedTables()).filter((entry) => read.has(entry.table.split('.').pop()!));
  return copyFreshness(source, synced);
}

/**
 * Runs both sides concurrently after checking the DuckDB copy is not stale. The DuckDB side must be exactly
 * one SELECT (`DuckDbDriver.select`). `source` runs the
 * PostgreSQL side (the query pipeline); `catalog` reads generation stamps directly, never from a cache.
 */
export async function runHybrid<C = Rows>(source: HybridSource, catalog: DriverSession, duck: DuckDbDriver, request: HybridRequest<C>): Promise<HybridResult<C>> {
  const started = performance.now();
  const freshness = await freshnessOf(catalog, duck, request.duckdb.sql);
  const stale = freshness.filter((entry) => !entry.fresh).map((entry) => entry.table);
  if (stale.length > 0 && !request.allowStale) throw new StaleCopyError(stale);
  const [postgresql, duckdb] = await Promise.all([
    timed(() => source.query(request.postgresql.sql, request.postgresql.params ?? [])),
    timed(() => duck.select(request.duckdb.sql, request.duckdb.params ?? [], { timeoutMs: request.timeoutMs })),
  ]);
  const pgRows = postgresql.value.rows;
  const duckRows = duckdb.value.rows;
  return {
    postgresql: { rows: pgRows, rowCount: postgresql.value.rowCount },
    duckdb: { rows: duckRows, rowCount: duckdb.value.rowCount, freshness },
    combined: request.combine ? request.combine(pgRows, duckRows) : null,
    executionTimeMs: { postgresql: postgresql.ms, duckdb: duckdb.ms, total: performance.now() - started },
  };
}
