import type { QueryCache } from '../cache/queryCache.js';
import { readTableGenerations } from '../cache/tableGenerations.js';
import type { TableGenerationReader } from '../cache/tableGenerations.js';
import { parametersText } from '../cache/keys.js';
import type { SqlAnalysis } from '../sql/analyze.js';
import type { DriverSession, QueryResultSet } from './driver.js';
import type { DuckDbDriver, SyncedTable } from './duckdbDriver.js';
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
  /**
   * What `combine` computes, as a stable name (the service passes its `combine` mode): with it the combined
   * rows are cached with both sides'; without it only both sides' rows are, and `combine` runs on every call.
   */
  combineKey?: string;
  /** Run the DuckDB side even when its copy is older than PostgreSQL (otherwise StaleCopyError). */
  allowStale?: boolean;
  /** Interrupts the DuckDB side after this long (DuckDbTimeoutError); `qo.hybrid`'s default is `executor.queryTimeoutSeconds`. */
  timeoutMs?: number;
  /** `false`: neither serve nor store this call's result in the result cache. */
  cache?: boolean;
}

/** Both sides' rows, the combination, what each side cost, and whether the result cache answered. */
export interface HybridResult<C = Rows> {
  postgresql: { rows: Rows; rowCount: number };
  duckdb: { rows: Rows; rowCount: number; freshness: CopyFreshness[] };
  combined: C | null;
  /** This call's times: on a cache hit neither side ran (0). */
  executionTimeMs: { postgresql: number; duckdb: number; total: number };
  /** `hit`: both sides came from the result cache; `miss`: they ran and were stored; `bypass`: they ran, uncached. */
  cache: 'hit' | 'miss' | 'bypass';
}

/** How `runHybrid` caches: qopt's result cache, the analyzer for the PostgreSQL side's dependencies, and a scope for the key. */
export interface HybridCaching {
  cache: QueryCache;
  analyze(sql: string): SqlAnalysis;
  /** Keeps entries apart that the same statements must not share (the service: its operator role). */
  scope?: string;
}

/** What one cache entry of a hybrid query holds. */
interface HybridSides {
  postgresql: { rows: Rows; rowCount: number };
  duckdb: { rows: Rows; rowCount: number };
  /** Present when the request named its combination (`combineKey`). */
  combined?: unknown;
  ms: { postgresql: number; duckdb: number };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** The synced tables the DuckDB statement reads (by DuckDB's own parser) and their freshness; unsynced tables are DuckDB's own. */
async function syncedReadsOf(
  source: DriverSession,
  duck: DuckDbDriver,
  sql: string,
  generations: TableGenerationReader | undefined,
): Promise<{ synced: SyncedTable[]; freshness: CopyFreshness[] }> {
  const read = new Set(await duck.tablesOf(sql));
  const synced = (await duck.syncedTables()).filter((entry) => read.has(entry.table.split('.').pop()!));
  return { synced, freshness: await copyFreshness(source, synced, generations) };
}

/**
 * The cache key of a hybrid call: both statements and parameter lists, the combination, and the DuckDB copy
 * it reads (the file, and each synced table's stamp), so a re-synced copy never answers from an older one.
 */
function hybridKey(request: HybridRequest<unknown>, duck: DuckDbDriver, synced: readonly SyncedTable[], scope: string | undefined): string {
  return JSON.stringify([
    'hybrid',
    scope ?? null,
    request.postgresql.sql,
    parametersText(request.postgresql.params ?? []),
    request.duckdb.sql,
    parametersText(request.duckdb.params ?? []),
    request.combineKey ?? null,
    duck.fileId,
    synced.map((entry) => [entry.table, entry.stamp]),
  ]);
}

async function runSides<C>(source: HybridSource, duck: DuckDbDriver, request: HybridRequest<C>): Promise<HybridSides> {
  const [postgresql, duckdb] = await Promise.all([
    timed(() => source.query(request.postgresql.sql, request.postgresql.params ?? [])),
    timed(() => duck.select(request.duckdb.sql, request.duckdb.params ?? [], { timeoutMs: request.timeoutMs })),
  ]);
  const sides: HybridSides = {
    postgresql: { rows: postgresql.value.rows, rowCount: postgresql.value.rowCount },
    duckdb: { rows: duckdb.value.rows, rowCount: duckdb.value.rowCount },
    ms: { postgresql: postgresql.ms, duckdb: duckdb.ms },
  };
  if (request.combineKey !== undefined && request.combine) sides.combined = request.combine(sides.postgresql.rows, sides.duckdb.rows);
  return sides;
}

/** Both sides through the result cache: one entry whose dependencies are the PostgreSQL side's reads and the synced source tables. */
async function cachedSides<C>(
  source: HybridSource,
  duck: DuckDbDriver,
  request: HybridRequest<C>,
  synced: readonly SyncedTable[],
  caching: HybridCaching,
): Promise<{ sides: HybridSides; ran: boolean }> {
  let ran = false;
  const run = async (): Promise<QueryResultSet<HybridSides>> => {
    ran = true;
    return { rows: [await runSides(source, duck, request)], rowCount: 1, fields: [], command: 'HYBRID' };
  };
  const dependsOn = {
    analysis: caching.analyze(request.postgresql.sql),
    params: request.postgresql.params ?? [],
    tables: synced.map((entry) => entry.table),
  };
  const result = await caching.cache.readDerived(hybridKey(request, duck, synced, caching.scope), dependsOn, run);
  return { sides: result.rows[0]!, ran };
}

/**
 * Runs both sides concurrently after checking the DuckDB copy is not stale. The DuckDB side must be exactly
 * one SELECT (`DuckDbDriver.select`). `source` runs the PostgreSQL side (the query pipeline); `catalog` reads
 * generation stamps directly, never from a cache. With `caching` (and unless `request.cache` is false) the
 * result is served from and stored in qopt's result cache; freshness is checked on every call, against the
 * cache's generations too when `caching` is given (so a write through qopt is seen at once).
 */
export async function runHybrid<C = Rows>(
  source: HybridSource,
  catalog: DriverSession,
  duck: DuckDbDriver,
  request: HybridRequest<C>,
  caching?: HybridCaching,
): Promise<HybridResult<C>> {
  const started = performance.now();
  const generations = caching ? (tables: readonly string[]) => readTableGenerations(caching.cache, tables) : undefined;
  const { synced, freshness } = await syncedReadsOf(catalog, duck, request.duckdb.sql, generations);
  const stale = freshness.filter((entry) => !entry.fresh).map((entry) => entry.table);
  if (stale.length > 0 && !request.allowStale) throw new StaleCopyError(stale);
  const useCache = caching !== undefined && request.cache !== false && caching.cache.enabled && caching.analyze(request.postgresql.sql).cacheable;
  const { sides, ran } = useCache ? await cachedSides(source, duck, request, synced, caching) : { sides: await runSides(source, duck, request), ran: true };
  const outcome = useCache ? (ran ? 'miss' : 'hit') : 'bypass';
  const combined = 'combined' in sides ? (sides.combined as C) : request.combine ? request.combine(sides.postgresql.rows, sides.duckdb.rows) : null;
  return {
    postgresql: sides.postgresql,
    duckdb: { ...sides.duckdb, freshness },
    combined,
    executionTimeMs: { postgresql: ran ? sides.ms.postgresql : 0, duckdb: ran ? sides.ms.duckdb : 0, total: performance.now() - started },
    cache: outcome,
  };
}
