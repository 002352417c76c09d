import type { RequestContext } from './monitor/requestContext.js';
import { loadConfig } from './config.js';
import type { QoptConfig, QoptConfigInput } from './config.js';
import type { PoolStatistics } from './monitor/prometheus.js';
import type { Driver, DriverSession, ExplainOptions, ExplainResult, QueryResultSet } from './db/driver.js';
import { DEFAULT_DUCKDB_PATH } from './db/duckdbDriver.js';
import type { DuckDbDriver } from './db/duckdbDriver.js';
import { DuckDbCopyReader } from './db/duckdbCopyReader.js';
import { runHybrid } from './db/hybrid.js';
import type { HybridRequest, HybridResult } from './db/hybrid.js';
import { openDriver } from './db/openDriver.js';
import { PgDriver } from './db/pgDriver.js';
import { Executor } from './execute/executor.js';
import { QoptPool } from './execute/poolFacade.js';
import { createTableLoader } from './execute/tableLoader.js';
import type { TableLoader, TableLoaderOptions } from './execute/tableLoader.js';
import { QueryCache } from './cache/queryCache.js';
import { warmUpHottest } from './cache/warmUp.js';
import type { HottestWarmUpOptions, WarmUpReport } from './cache/warmUp.js';
import { sameIdentity } from './cache/exemplars.js';
import type { Exemplar, RunIdentity } from './cache/exemplars.js';
import type { QueryOptions } from './queryOptions.js';
import { analyzeQuery } from './analyze/queryAnalyzer.js';
import type { OptimizationLevel, QueryReport } from './analyze/queryAnalyzer.js';
import { AutoRewriter, DEFAULT_AUTO_REWRITER_OPTIONS } from './rewrite/autoRewriter.js';
import { PerformanceMonitor } from './monitor/performanceMonitor.js';
import { operationName } from './monitor/prometheus.js';
import type { CacheOutcome, QueryObservation, QueryRecorder } from './monitor/recorder.js';
import { errorTypeOf } from './execute/errors.js';
import type { ExecutionReport, ReportReceiver } from './execute/executionTarget.js';
import { SqlAnalyzer } from './sql/analyze.js';
import type { SqlAnalysis } from './sql/analyze.js';

/** The route of a result the cache served (it reached no database target). */
const CACHE_ROUTE = 'cache';

/** Options of `createOptimizer`: every config option, plus an already-open driver if the caller has one. */
export type OptimizerOptions = QoptConfigInput & {
  /** A driver to use instead of opening `database.url`; the optimizer does not close a driver it was given. */
  driver?: Driver;
};

/**
 * Told, after COMMIT, of every data or schema change that committed: the cache invalidates from this.
 * `params[i]` are the bound parameters of `writes[i]` when known (they let the cache invalidate by row).
 */
export type CommittedWritesListener = (
  writes: readonly SqlAnalysis[],
  params?: ReadonlyArray<readonly unknown[] | undefined>,
) => void | Promise<void>;

/** What `qo.transaction` hands its callback: statements on one connection inside one transaction. */
export interface TransactionScope {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResultSet<R>>;
}

/** True when a statement may have changed data or schema (and caches of what it touched must go). */
export function changesData(analysis: SqlAnalysis): boolean {
  if (analysis.kind === 'write' || analysis.kind === 'ddl') return true;
  for (const statement of analysis.statements) if (statement.opaque) return true;
  return false;
}

/**
 * The composed pipeline: SQL analysis (memoized) → database → monitor. `close()` releases what it
 * opened, so a process exits cleanly.
 */
export class Optimizer {
  /** Per-fingerprint latency statistics of every query that went through `query`. */
  readonly recorder: QueryRecorder;
  /** The performance monitor: recorder, slow log, N+1 findings, anomalies, alerts, Prometheus. */
  readonly monitor: PerformanceMonitor;
  readonly sql: SqlAnalyzer;
  /** The multi-tier result cache: stats, invalidation by table / tag / pattern, warm-up. */
  readonly cache: QueryCache;
  /** The execution pipeline: queue, quotas, routing, breaker, timeouts, retries (`executor.metrics()` for the monitor). */
  readonly executor: Executor;
  /** A `pg.Pool`-compatible facade for Kysely, Drizzle and plain node-postgres code. */
  readonly pool: QoptPool;
  private readonly writeListeners = new Set<CommittedWritesListener>();
  private warmUpTimer: NodeJS.Timeout | undefined;
  private warming: Promise<WarmUpReport> | undefined;
  private readonly warmUpLoaders: Array<{ identity: RunIdentity; load: (exemplar: Exemplar) => Promise<void> }> = [];
  private analytics: DuckDbCopyReader | undefined;
  /** Applies proven rewrites of hot statements when `optimization.automaticRewriting` is on. */
  readonly autoRewriter: AutoRewriter | null;

  constructor(
    readonly config: QoptConfig,
    readonly driver: Driver,
    private readonly ownsDriver: boolean,
  ) {
    this.sql = new SqlAnalyzer(config.sql.analysisCacheEntries);
    this.autoRewriter = config.optimization.enabled && config.optimization.automaticRewriting
      ? new AutoRewriter(async (sql, params) => (await this.optimizeQuery(sql, params, { level: 3 })).rewrites?.best ?? null, DEFAULT_AUTO_REWRITER_OPTIONS)
      : null;
    this.monitor = new PerformanceMonitor(config.monitor, {
      analyze: (sql) => this.sql.analyze(sql),
      explain: (sql, params) => this.driver.explain(sql, params),
      pool: 'pool' in driver ? (driver as { pool: PoolStatistics }).pool : undefined,
    });
    this.recorder = this.monitor.recorder;
    this.cache = new QueryCache(config, driver.target, (sql, params) => this.query(sql, params));
    this.onCommittedWrites((writes, params) => this.cache.onCommittedWrites(writes, params));
    this.executor = new Executor(config, driver);
    this.onCommittedWrites(() => this.executor.noteCommittedWrite());
    this.pool = new QoptPool({
      analyze: (sql) => this.sql.analyze(sql),
      query: (sql, params, options) => this.query(sql, params, options),
      reportCommittedWrites: (writes) => this.reportCommittedWrites(writes),
      record: (analysis, params, work) => {
        const receiver: ReportReceiver | undefined = this.recording ? { report: undefined } : undefined;
        return this.timed(analysis, () => work(receiver), params, undefined, receiver);
      },
      executor: this.executor,
    });
  }

  /** Anti-pattern and plan findings of a query (level ≤ 2 of `optimization.level`; `analyze` runs EXPLAIN ANALYZE, rolled back). */
  findings(sql: string, params: readonly unknown[] = [], options: { analyze?: boolean } = {}): Promise<QueryReport> {
    return this.optimizeQuery(sql, params, { ...options, level: Math.min(2, this.config.optimization.level) as OptimizationLevel });
  }

  /**
   * Findings, plan, and (at level 3) rewrites proven cheaper and equal; bounded by `optimization.maxOptimizationTimeMs`.
   * `driver` runs the analysis's statements instead of the optimizer's own (the service: under the operator's policy).
   */
  optimizeQuery(sql: string, params: readonly unknown[] = [], options: { analyze?: boolean; level?: OptimizationLevel; driver?: Driver } = {}): Promise<QueryReport> {
    const { enabled, level, maxOptimizationTimeMs, maxRewriteCostRatio } = this.config.optimization;
    const chosen = enabled ? (options.level ?? (level as OptimizationLevel)) : 0;
    return analyzeQuery(options.driver ?? this.driver, sql, params, { level: chosen, maxTimeMs: maxOptimizationTimeMs, maxRewriteCostRatio, analyze: options.analyze });
  }

  /** Runs `work` as one request context named `name` (N+1 detection counts repetitions inside it). */
  withContext<T>(name: string, work: () => T): T {
    return this.monitor.withContext(name, work);
  }

  /** The Prometheus text exposition (serve it at `/metrics` with `qo.monitor.metricsContentType`). */
  metrics(): Promise<string> {
    return this.monitor.metrics();
  }

  /** Analyzes a SQL text (memoized); throws SqlSyntaxError on bad SQL. */
  analyze(sql: string): SqlAnalysis {
    return this.sql.analyze(sql);
  }

  /** Runs a statement with bound parameters through the pipeline (autocommit); cacheable reads go through the cache. */
  query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<QueryResultSet<R>> {
    let analysis: SqlAnalysis;
    try {
      analysis = this.sql.analyze(sql);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // Automatic rewriting swaps in a proven rewrite of a hot read and reverts it if it measures slower or fails.
    const rewriter = analysis.kind === 'read' ? this.autoRewriter : null;
    // Only a read the cache actually looks up can miss; with the cache off (or `cache: false`) there is no lookup.
    const cached = analysis.cacheable && this.config.cache.enabled && options.cache !== false;
    const writes = !cached && changesData(analysis);
    if (!cached && !rewriter && !writes) return this.runDirect<R>(analysis, sql, params, options);
    // Off the hot path: the executor leaves its report (pool wait, retries, route, connection) here.
    const receiver: ReportReceiver | undefined = this.recording ? { report: undefined } : undefined;
    const run = (text: string) => this.executor.run<R>(analysis, text, params, options, receiver);
    const work = rewriter ? () => rewriter.run(sql, params, run) : () => run(sql);
    if (cached) return this.readThroughCache(analysis, params, options, work, receiver);
    const running = this.timed(analysis, work, params, undefined, receiver);
    if (!writes) return running;
    return running.then(async (result) => {
      await this.reportCommittedWrites([analysis], [params]);
      return result;
    });
  }

  /**
   * A statement straight to the database, recorded by the monitor: the hot path (bench/executor). The
   * executor reports to a callback, so this promise is the only one between the caller and node-postgres.
   */
  private runDirect<R>(analysis: SqlAnalysis, sql: string, params: readonly unknown[], options: QueryOptions): Promise<QueryResultSet<R>> {
    return new Promise((resolve, reject) => {
      if (!this.recording) return this.executor.runWith<R>(analysis, sql, params, options, (error, result) => (error ? reject(error) : resolve(result!)));
      const started = performance.now();
      // node-postgres calls back in the connection's async context: keep the caller's request context now.
      const context = this.monitor.currentContext();
      this.executor.runWith<R>(analysis, sql, params, options, (error, result, report) => {
        try {
          this.record(analysis, performance.now() - started, error ? 0 : (result!.rowCount ?? 0), error ? errorTypeOf(error) : undefined, params, undefined, report, context);
        } catch (recordError) {
          return reject(recordError as Error);
        }
        if (error) reject(error);
        else resolve(result!);
      });
    });
  }

  private readThroughCache<R>(
    analysis: SqlAnalysis,
    params: readonly unknown[],
    options: QueryOptions,
    work: () => Promise<QueryResultSet<R>>,
    receiver: ReportReceiver | undefined,
  ): Promise<QueryResultSet<R>> {
    const miss = (): Promise<QueryResultSet<R>> => this.timed(analysis, work, params, 'miss', receiver);
    // Nothing to record after a hit: the caller waits on the cache's own promise.
    if (!this.recording) return this.cache.read(analysis, params, options.cache, miss);
    let executed = false;
    const started = performance.now();
    const reading = this.cache.read(analysis, params, options.cache, () => {
      executed = true;
      return miss();
    });
    return reading.then((result) => {
      // A result served by the cache never reached `timed`: record it as a hit so percentiles and hit ratios see it.
      if (!executed) this.record(analysis, performance.now() - started, result.rowCount ?? 0, undefined, params, 'hit', undefined);
      return result;
    });
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
    const writeParams: Array<readonly unknown[]> = [];
    const result = await this.driver.transaction((session: DriverSession) =>
      work({
        query: <R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []) => {
          const analysis = this.sql.analyze(sql);
          if (changesData(analysis)) {
            writes.push(analysis);
            writeParams.push(params);
          }
          return this.timed(analysis, () => session.query<R>(sql, params), params);
        },
      }),
    );
    if (writes.length > 0) await this.reportCommittedWrites(writes, writeParams);
    return result;
  }

  /**
   * Re-runs the recent instances of the monitor's hottest cached reads (by total time) that this
   * instance's memory no longer holds — after invalidations, a deploy or a cold start — one at a
   * time, at low priority, not counted as traffic by the monitor. With `cache.warmUp` on it also runs
   * every `cache.warmUpIntervalSeconds`. Concurrent calls share one run.
   */
  warmUpHottest(options: HottestWarmUpOptions = {}): Promise<WarmUpReport> {
    this.warming ??= warmUpHottest(
      {
        stats: () => this.recorder.snapshot(),
        exemplars: (fingerprint, limit) => this.cache.exemplars.of(fingerprint, limit),
        isCached: ({ sql, params, identity }) => this.cache.isCachedLocally(this.sql.analyze(sql), params, identity.role),
        loaderFor: (identity) => {
          if (sameIdentity(identity, {})) return (exemplar) => this.warmUpLoad(exemplar);
          return this.warmUpLoaders.find((loader) => sameIdentity(loader.identity, identity))?.load ?? null;
        },
      },
      { top: this.config.cache.warmUpTopQueries, ...options },
    ).finally(() => (this.warming = undefined));
    return this.warming;
  }

  private async warmUpLoad({ sql, params }: Exemplar): Promise<void> {
    const analysis = this.sql.analyze(sql);
    await this.cache.read(analysis, params, undefined, () => this.executor.run(analysis, sql, params, { priority: 'low' }));
  }

  /**
   * Lets warm-up re-run the instances loaded under `identity` (a role and statement timeout that a caller
   * such as the service's `/query` sets) through `load`, which must run them under that same identity.
   * Without one, those instances are skipped: warm-up never runs SQL with other rights or time than its caller had.
   */
  registerWarmUpLoader(identity: RunIdentity, load: (exemplar: Exemplar) => Promise<void>): void {
    const known = this.warmUpLoaders.findIndex((loader) => sameIdentity(loader.identity, identity));
    if (known >= 0) this.warmUpLoaders.splice(known, 1);
    this.warmUpLoaders.push({ identity, load });
  }

  /** Starts the periodic warm-up of `cache.warmUp` (createOptimizer does). */
  startWarmUp(): void {
    const { enabled, warmUp, warmUpIntervalSeconds } = this.config.cache;
    if (!enabled || !warmUp || warmUpIntervalSeconds === 0 || this.warmUpTimer) return;
    this.warmUpTimer = setInterval(() => {
      this.warmUpHottest().catch((error: unknown) => process.emitWarning(`cache warm-up failed: ${String(error)}`, 'QOPT_CACHE'));
    }, warmUpIntervalSeconds * 1000);
    this.warmUpTimer.unref();
  }

  /** Subscribes to committed writes; returns the unsubscribe function. */
  onCommittedWrites(listener: CommittedWritesListener): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  /**
   * Tells every listener that these statements have committed (the query path, transactions and the
   * pool facade call it); resolves when every listener is done (the cache: when every instance knows).
   */
  async reportCommittedWrites(writes: readonly SqlAnalysis[], params?: ReadonlyArray<readonly unknown[] | undefined>): Promise<void> {
    await Promise.all([...this.writeListeners].map((listener) => listener(writes, params)));
  }

  private get recording(): boolean {
    return this.config.monitor.enabled && this.config.monitor.trackQueries;
  }

  /**
   * Runs `run` and records it with the monitor. No async frame of its own: it is on every query's
   * path (bench/executor). `cache` is the cache's outcome; `receiver` holds the executor's report
   * once `run` settles (pool wait, retries, route, connection).
   */
  private timed<T extends { rowCount: number | null }>(
    analysis: SqlAnalysis,
    run: () => Promise<T>,
    params?: readonly unknown[],
    cache?: CacheOutcome,
    receiver?: ReportReceiver,
  ): Promise<T> {
    if (!this.recording) return run();
    const started = performance.now();
    let running: Promise<T>;
    try {
      running = run();
    } catch (error) {
      this.record(analysis, performance.now() - started, 0, errorTypeOf(error), params, cache, receiver?.report);
      return Promise.reject(error as Error);
    }
    return running.then(
      (result) => {
        this.record(analysis, performance.now() - started, result.rowCount ?? 0, undefined, params, cache, receiver?.report);
        return result;
      },
      (error: unknown) => {
        this.record(analysis, performance.now() - started, 0, errorTypeOf(error), params, cache, receiver?.report);
        throw error;
      },
    );
  }

  /**
   * Records a statement that ran outside `query` (the service's `/query` runner) exactly as `query` records
   * its own: recorder, slow log, N+1 detection, anomalies. A no-op when `monitor.trackQueries` is off.
   */
  observe(analysis: SqlAnalysis, outcome: { durationMs: number; rows: number; failed: boolean; params?: readonly unknown[]; cache?: 'hit' | 'miss' }): void {
    if (!this.recording) return;
    this.record(analysis, outcome.durationMs, outcome.rows, outcome.failed ? 'QueryError' : undefined, outcome.params, outcome.cache, undefined);
  }

  /**
   * Builds one observation and hands it to the monitor. Every property is set, in the same order, on
   * every call (undefined when unknown), so all observations share one V8 shape and the recorder's
   * property reads stay monomorphic. `errorType` undefined means it succeeded.
   */
  private record(
    analysis: SqlAnalysis,
    durationMs: number,
    rows: number,
    errorType: string | undefined,
    params: readonly unknown[] | undefined,
    cache: CacheOutcome | undefined,
    report: ExecutionReport | undefined,
    context: RequestContext | undefined = this.monitor.currentContext(),
  ): void {
    const observation: QueryObservation = {
      fingerprint: analysis.fingerprint,
      normalized: analysis.normalized,
      durationMs,
      at: Date.now(),
      rows,
      failed: errorType !== undefined,
      sql: analysis.text,
      params,
      operation: operationName(analysis.statements[0]?.command),
      collection: analysis.tables[0]?.key,
      readOnly: analysis.kind === 'read',
      cache,
      poolWaitMs: report?.poolWaitMs,
      retries: report?.retries,
      route: report ? report.route : cache === 'hit' ? CACHE_ROUTE : undefined,
      context: undefined,
      connection: report?.connection,
      errorType,
    };
    this.monitor.record(observation, context);
  }

  /** The plan of a statement; with `analyze` it runs inside a rolled-back transaction. */
  explain(sql: string, params: readonly unknown[] = [], options: ExplainOptions = {}): Promise<ExplainResult> {
    this.sql.analyze(sql);
    return this.driver.explain(sql, params, options);
  }


  /**
   * The DuckDB analytics copy (`database.duckdbPath`), opened read-only on first use and reopened after a
   * `qopt duckdb sync` replaced the file; a driver it returned closes once replaced and idle (`withDuckDb` holds it).
   */
  duckdb(): Promise<DuckDbDriver> {
    return this.analyticsCopy().driver();
  }

  /** Runs `work` on the current DuckDB copy, kept open until `work` ends even if a sync replaces the file meanwhile. */
  withDuckDb<T>(work: (duck: DuckDbDriver) => Promise<T>): Promise<T> {
    return this.analyticsCopy().use(work);
  }

  private analyticsCopy(): DuckDbCopyReader {
    return (this.analytics ??= new DuckDbCopyReader(this.config.database.duckdbPath ?? DEFAULT_DUCKDB_PATH));
  }

  /**
   * The seed's hybrid query: a PostgreSQL side through the pipeline and a DuckDB side on the synced copy,
   * combined; cached with the dependencies of both sides (`cache: false` bypasses).
   */
  async hybrid<C = Array<Record<string, unknown>>>(request: HybridRequest<C>): Promise<HybridResult<C>> {
    const timeoutMs = request.timeoutMs ?? this.config.executor.queryTimeoutSeconds * 1000;
    const caching = { cache: this.cache, analyze: (sql: string) => this.sql.analyze(sql) };
    const options: QueryOptions = request.cache === false ? { cache: false } : {};
    return this.withDuckDb((duck) => runHybrid({ query: (sql, params) => this.query(sql, params, options) }, this.driver, duck, { ...request, timeoutMs }, caching));
  }

  /** Releases the database connections (unless the driver was passed in) and every timer. */
  async close(): Promise<void> {
    if (this.warmUpTimer) clearInterval(this.warmUpTimer);
    await this.warming?.catch(() => undefined);
    await this.executor.close();
    await this.analytics?.close();
    this.analytics = undefined;
    await this.cache.close();
    await this.monitor.close();
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
  const optimizer = new Optimizer(config, driver, givenDriver === undefined);
  await optimizer.cache.start();
  optimizer.startWarmUp();
  if (config.cache.enabled && config.cache.changeCapture && driver instanceof PgDriver) await optimizer.cache.startCapture(driver.pool.options);
  return optimizer;
}
