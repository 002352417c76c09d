import { loadConfig } from './config.js';
import type { QoptConfig, QoptConfigInput } from './config.js';
import type { Driver, DriverSession, ExplainOptions, ExplainResult, QueryResultSet } from './db/driver.js';
import { DEFAULT_DUCKDB_PATH, DuckDbDriver } from './db/duckdbDriver.js';
import { runHybrid } from './db/hybrid.js';
import type { HybridRequest, HybridResult } from './db/hybrid.js';
import { openDriver } from './db/openDriver.js';
import { QueryRecorder } from './monitor/recorder.js';
import { SqlAnalyzer } from './sql/analyze.js';
import type { SqlAnalysis } from './sql/analyze.js';

/** Options of `createOptimizer`: every config option, plus an already-open driver if the caller has one. */
export type OptimizerOptions = QoptConfigInput & {
  /** A driver to use instead of opening `database.url`; the optimizer does not close a driver it was given. */
  driver?: Driver;
};

/** Told, after COMMIT, of every data or schema change that committed: the cache invalidates from this. */
export type CommittedWritesListener = (writes: readonly SqlAnalysis[]) => void;

/** What `qo.transaction` hands its callback: statements on one connection inside one transaction. */
export interface TransactionScope {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResultSet<R>>;
}

/** True when a statement may have changed data or schema (and caches of what it touched must go). */
export function changesData(analysis: SqlAnalysis): boolean {
  return analysis.kind === 'write' || analysis.kind === 'ddl' || analysis.statements.some((statement) => statement.opaque);
}

/**
 * The composed pipeline: SQL analysis (memoized) → database → monitor. `close()` releases what it
 * opened, so a process exits cleanly.
 */
export class Optimizer {
  /** Per-fingerprint latency statistics of every query that went through `query`. */
  readonly recorder = new QueryRecorder();
  readonly sql: SqlAnalyzer;
  private readonly writeListeners = new Set<CommittedWritesListener>();
  private analytics: Promise<DuckDbDriver> | undefined;

  constructor(
    readonly config: QoptConfig,
    readonly driver: Driver,
    private readonly ownsDriver: boolean,
  ) {
    this.sql = new SqlAnalyzer(config.sql.analysisCacheEntries);
  }

  /** Analyzes a SQL text (memoized); throws SqlSyntaxError on bad SQL. */
  analyze(sql: string): SqlAnalysis {
    return this.sql.analyze(sql);
  }

  /** Runs a statement with bound parameters through the pipeline (autocommit). */
  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResultSet<R>> {
    const analysis = this.sql.analyze(sql);
    const result = await this.timed(analysis, () => this.driver.query<R>(sql, params));
    if (changesData(analysis)) this.reportCommittedWrites([analysis]);
    return result;
  }

  /**
   * Runs `work` in one transaction on one connection. Its statements bypass any cache; the writes
   * it made are reported (and so invalidated) only after COMMIT, and not at all on rollback.
   */
  async transaction<T>(work: (tx: TransactionScope) => Promise<T>): Promise<T> {
    const writes: SqlAnalysis[] = [];
    const result = await this.driver.transaction((session: DriverSession) =>
      work({
        query: <R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []) => {
          const analysis = this.sql.analyze(sql);
          if (changesData(analysis)) writes.push(analysis);
          return this.timed(analysis, () => session.query<R>(sql, params));
        },
      }),
    );
    if (writes.length > 0) this.reportCommittedWrites(writes);
    return result;
  }

  /** Subscribes to committed writes; returns the unsubscribe function. */
  onCommittedWrites(listener: CommittedWritesListener): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  /** Tells every listener that these statements have committed (the query path, transactions and the pool facade call it). */
  reportCommittedWrites(writes: readonly SqlAnalysis[]): void {
    for (const listener of this.writeListeners) listener(writes);
  }

  private async timed<T extends { rowCount: number }>(analysis: SqlAnalysis, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let rows = 0;
    let failed = true;
    try {
      const result = await run();
      rows = result.rowCount;
      failed = false;
      return result;
    } finally {
      if (this.config.monitor.enabled && this.config.monitor.trackQueries) {
        this.recorder.record({
          fingerprint: analysis.fingerprint,
          normalized: analysis.normalized,
          durationMs: performance.now() - started,
          rows,
          failed,
        });
      }
    }
  }

  /** The plan of a statement; with `analyze` it runs inside a rolled-back transaction. */
  explain(sql: string, params: readonly unknown[] = [], options: ExplainOptions = {}): Promise<ExplainResult> {
    this.sql.analyze(sql);
    return this.driver.explain(sql, params, options);
  }

  /** The DuckDB analytics copy (`database.duckdbPath`), opened read-only on first use. */
  duckdb(): Promise<DuckDbDriver> {
    this.analytics ??= DuckDbDriver.open(this.config.database.duckdbPath ?? DEFAULT_DUCKDB_PATH, { readOnly: true });
    return this.analytics;
  }

  /** The seed's hybrid query: a PostgreSQL side through the pipeline and a DuckDB side on the synced copy, combined. */
  async hybrid<C = Array<Record<string, unknown>>>(request: HybridRequest<C>): Promise<HybridResult<C>> {
    return runHybrid({ query: (sql, params) => this.query(sql, params) }, this.driver, await this.duckdb(), request);
  }

  /** Releases the database connections (unless the driver was passed in) and every timer. */
  async close(): Promise<void> {
    const analytics = this.analytics;
    this.analytics = undefined;
    if (analytics) await (await analytics.catch(() => undefined))?.close();
    if (this.ownsDriver) await this.driver.close();
  }
}

/** Validates the options (and QOPT_* / seed flag environment variables), opens the database and composes the pipeline. */
export async function createOptimizer(options: OptimizerOptions = {}): Promise<Optimizer> {
  const { driver: givenDriver, ...input } = options;
  const config = loadConfig(input);
  const driver =
    givenDriver ??
    (await openDriver(config.database.url, {
      poolMax: config.database.poolMax,
      idleTimeoutMs: config.database.idleTimeoutMs,
      connectionTimeoutMs: config.database.connectionTimeoutMs,
      maxLifetimeSeconds: config.database.maxLifetimeSeconds,
    }));
  return new Optimizer(config, driver, givenDriver === undefined);
}
