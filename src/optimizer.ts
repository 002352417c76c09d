import { loadConfig } from './config.js';
import type { QoptConfig, QoptConfigInput } from './config.js';
import type { Driver, ExplainOptions, ExplainResult, QueryResultSet } from './db/driver.js';
import { openDriver } from './db/openDriver.js';
import { QueryRecorder } from './monitor/recorder.js';
import { SqlAnalyzer } from './sql/analyze.js';
import type { SqlAnalysis } from './sql/analyze.js';

/** Options of `createOptimizer`: every config option, plus an already-open driver if the caller has one. */
export type OptimizerOptions = QoptConfigInput & {
  /** A driver to use instead of opening `database.url`; the optimizer does not close a driver it was given. */
  driver?: Driver;
};

/**
 * The composed pipeline: SQL analysis (memoized) → database → monitor. `close()` releases what it
 * opened, so a process exits cleanly.
 */
export class Optimizer {
  /** Per-fingerprint latency statistics of every query that went through `query`. */
  readonly recorder = new QueryRecorder();
  readonly sql: SqlAnalyzer;

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

  /** Runs a statement with bound parameters through the pipeline. */
  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResultSet<R>> {
    const analysis = this.sql.analyze(sql);
    const started = performance.now();
    let rows = 0;
    let failed = true;
    try {
      const result = await this.driver.query<R>(sql, params);
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

  /** Releases the database connections (unless the driver was passed in) and every timer. */
  async close(): Promise<void> {
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
