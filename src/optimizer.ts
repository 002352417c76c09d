import { loadConfig } from './config.js';
import type { QoptConfig, QoptConfigInput } from './config.js';
import type { Driver, DriverSession, ExplainOptions, ExplainResult, QueryResultSet } from './db/driver.js';
import { openDriver } from './db/openDriver.js';
import { Executor } from './execute/executor.js';
import { QoptPool } from './execute/poolFacade.js';
import { createTableLoader } from './execute/tableLoader.js';
import type { TableLoader, TableLoaderOptions } from './execute/tableLoader.js';
import type { QueryOptions } from './queryOptions.js';
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
  /** The execution pipeline: queue, quotas, routing, breaker, timeouts, retries (`executor.metrics()` for the monitor). */
  readonly executor: Executor;
  /** A `pg.Pool`-compatible facade for Kysely, Drizzle and plain node-postgres code. */
  readonly pool: QoptPool;

  constructor(
    readonly config: QoptConfig,
    readonly driver: Driver,
    private readonly ownsDriver: boolean,
  ) {
    this.sql = new SqlAnalyzer(config.sql.analysisCacheEntries);
    this.executor = new Executor(config, driver);
    this.pool = new QoptPool({
      analyze: (sql) => this.sql.analyze(sql),
      query: (sql, params, options) => this.query(sql, params, options),
      reportCommittedWrites: (writes) => this.reportCommittedWrites(writes),
      record: (analysis, work) => this.timed(analysis, work),
      executor: this.executor,
    });
  }

  /** Analyzes a SQL text (memoized); throws SqlSyntaxError on bad SQL. */
  analyze(sql: string): SqlAnalysis {
    return this.sql.analyze(sql);
  }

  /** Runs a statement with bound parameters through the pipeline (autocommit). */
  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<QueryResultSet<R>> {
    const analysis = this.sql.analyze(sql);
    const result = await this.timed(analysis, () => this.executor.run<R>(analysis, sql, params, options));
    if (changesData(analysis)) this.reportCommittedWrites([analysis]);
    return result;
  }

  /** Rows of a statement through a server-side cursor, with back-pressure; breaking out of the loop closes the cursor. */
  stream<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): AsyncGenerator<R, void, undefined> {
    return this.executor.stream<R>(this.sql.analyze(sql), sql, params, options);
  }

  /** A dataloader over `table`: loads in one tick become one `keyColumn = ANY($1)` query through `query`. */
  loader(table: string, keyColumn: string, options: TableLoaderOptions & { query?: QueryOptions } = {}): TableLoader {
    return createTableLoader((sql, params) => this.query(sql, params, options.query), table, keyColumn, options);
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

  private async timed<T extends { rowCount: number | null }>(analysis: SqlAnalysis, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let rows = 0;
    let failed = true;
    try {
      const result = await run();
      rows = result.rowCount ?? 0;
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

  /** Releases the database connections (unless the driver was passed in) and every timer. */
  async close(): Promise<void> {
    await this.executor.close();
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
