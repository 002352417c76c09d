import type pg from 'pg';
import Cursor from 'pg-cursor';
import type { QueryResultSet } from '../db/driver.js';
import { PgDriver } from '../db/pgDriver.js';
import { toDriverError } from '../db/errors.js';
import { SqlSyntaxError } from '../errors.js';
import { changesData } from '../optimizer.js';
import type { Optimizer } from '../optimizer.js';
import type { QueryPriority } from '../queryOptions.js';
import type { SqlAnalysis } from '../sql/analyze.js';
import { RequestValidationError, ResultTooLargeError } from './errors.js';
import { applyPolicy, PolicyTransaction } from './policyDriver.js';
import type { QueryPolicy } from './policyDriver.js';

export type { QueryPolicy } from './policyDriver.js';

/** A non-streamed answer. */
export interface GuardedResult extends QueryResultSet {
  durationMs: number;
  /** Where the rows came from: the result cache (`hit`), the database and then the cache (`miss`), or the database only (`bypass`). */
  cache: 'hit' | 'miss' | 'bypass';
}

/** How the client asked a statement to run: its queue priority, and whether the result cache may serve and keep it. */
export interface RunOptions {
  priority?: QueryPriority;
  cache?: boolean;
}

/** One line of an NDJSON answer: the fields first, then each row as an array, then the totals (or an error). */
export type StreamLine =
  | { fields: Array<{ name: string; data_type_id: number }> }
  | unknown[]
  | { rowCount: number; durationMs: number }
  | { error: { code: string; message: string } };

// Statement types a client may run. SET / RESET / transaction control could undo the operator's role or
// timeout (or end the transaction they live in); DO / CALL / COPY run code or files qopt cannot see.
const ALLOWED_COMMANDS = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt']);
// Functions that change settings from inside a statement (set_config('role', …, true) is SET LOCAL ROLE).
const FORBIDDEN_FUNCTIONS = new Set(['set_config']);
// pg_settings' update rule is set_config(…, false): a session-level change. The session is reset after every
// transaction anyway; refusing it here answers with a clear reason.
const FORBIDDEN_WRITE_TABLES = new Set(['pg_settings']);
const STREAM_BATCH_ROWS = 1000;

/**
 * Runs client SQL for `POST /query`: one statement of an allowed kind, in its own transaction, under the
 * operator's role and statement timeout (set with `set_config(…, true)`, so they end with the transaction),
 * on a connection whose session is reset before it returns to the pool, and recorded by the monitor like
 * any query of the pipeline.
 */
export class GuardedQueryRunner {
  constructor(
    private readonly qo: Optimizer,
    private readonly policy: QueryPolicy,
  ) {}

  /** Analyzes the SQL and refuses what a client may not run (400 naming `sql`). */
  check(sql: string): SqlAnalysis {
    let analysis: SqlAnalysis;
    try {
      analysis = this.qo.analyze(sql);
    } catch (error) {
      if (error instanceof SqlSyntaxError) throw new RequestValidationError('sql', error.message.split('\n')[0]!);
      throw error;
    }
    if (analysis.statements.length !== 1) throw new RequestValidationError('sql', `exactly one statement is allowed, got ${analysis.statements.length}`);
    const statement = analysis.statements[0]!;
    if (!ALLOWED_COMMANDS.has(statement.command)) {
      throw new RequestValidationError('sql', `${statement.command} is not allowed: only SELECT, INSERT, UPDATE and DELETE`);
    }
    const forbidden = statement.functions.find((name) => FORBIDDEN_FUNCTIONS.has(name.split('.').pop()!));
    if (forbidden) throw new RequestValidationError('sql', `${forbidden}() is not allowed: the server chooses role and timeout`);
    const settings = analysis.writeTables.find((table) => FORBIDDEN_WRITE_TABLES.has(table.split('.').pop()!));
    if (settings) throw new RequestValidationError('sql', `writing ${settings} is not allowed: it changes session settings, which the server chooses`);
    // SELECT … INTO parses as a SelectStmt but creates a table.
    if (analysis.kind === 'ddl') throw new RequestValidationError('sql', 'SELECT … INTO is not allowed: it creates a table');
    return analysis;
  }

  /**
   * Runs the statement and returns every row (at most `maxRows`). A cacheable read is served from the
   * result cache when it may be (its entries kept apart per operator role); a statement that runs takes
   * an executor slot at its priority, then runs in its own transaction under the operator's policy.
   */
  async run(sql: string, params: readonly unknown[], options: RunOptions = {}): Promise<GuardedResult> {
    const analysis = this.check(sql);
    const started = performance.now();
    const useCache = options.cache !== false && this.qo.config.cache.enabled && analysis.cacheable;
    let ran = false;
    let result: QueryResultSet | undefined;
    const execute = () => {
      ran = true;
      return this.runGuarded(sql, params, options.priority);
    };
    try {
      result = useCache ? await this.qo.cache.read(analysis, params, this.cacheIdentity(), execute) : await execute();
    } finally {
      this.record(analysis, params, performance.now() - started, result?.rowCount ?? 0, result === undefined, useCache ? (ran ? 'miss' : 'hit') : undefined);
    }
    if (changesData(analysis)) await this.qo.reportCommittedWrites([analysis], [params]);
    if (result.rows.length > this.policy.maxRows) throw new ResultTooLargeError(this.policy.maxRows);
    return { ...result, durationMs: performance.now() - started, cache: useCache ? (ran ? 'miss' : 'hit') : 'bypass' };
  }

  /**
   * Runs and caches a read as `run` does, at low priority and not recorded as traffic: how warm-up re-runs
   * the instances `/query` loaded, under the same role and statement timeout.
   */
  async warm(sql: string, params: readonly unknown[]): Promise<void> {
    const analysis = this.check(sql);
    if (!analysis.cacheable || !this.qo.config.cache.enabled) return;
    await this.qo.cache.read(analysis, params, this.cacheIdentity(), () => this.runGuarded(sql, params, 'low'));
  }

  /** The identity `/query`'s cache entries and warm-up instances carry: the operator's role and statement timeout. */
  cacheIdentity(): { role: string | undefined; statementTimeoutMs: number } {
    return { role: this.policy.role, statementTimeoutMs: this.policy.statementTimeoutMs };
  }

  /** One statement in its own transaction under the policy, holding an executor slot (priority applies under saturation). */
  private async runGuarded(sql: string, params: readonly unknown[], priority: QueryPriority | undefined): Promise<QueryResultSet> {
    const scheduler = this.qo.executor.scheduler;
    const waiting = scheduler.acquire(priority);
    if (waiting) await waiting;
    try {
      return await this.inPolicyTransaction(sql, params);
    } finally {
      scheduler.release();
    }
  }

  private async inPolicyTransaction(sql: string, params: readonly unknown[]): Promise<QueryResultSet> {
    const driver = this.qo.driver;
    if (!(driver instanceof PgDriver)) {
      // PGlite: one embedded connection, no pool to hand a changed session to other callers.
      return driver.transaction(async (session) => {
        await applyPolicy(session, this.policy);
        return session.query(sql, params);
      });
    }
    const transaction = await PolicyTransaction.open(driver, this.policy);
    let result: QueryResultSet;
    try {
      result = await transaction.session.query(sql, params);
    } catch (error) {
      await transaction.rollback();
      throw error;
    }
    await transaction.commit();
    return result;
  }

  /**
   * Streams the rows as NDJSON lines, read from a server-side cursor in batches so a large result never
   * sits in memory. Validation errors are thrown before the first line; later failures end the stream
   * with an `error` line.
   */
  stream(sql: string, params: readonly unknown[]): AsyncGenerator<StreamLine> {
    const analysis = this.check(sql);
    const driver = this.qo.driver;
    if (driver instanceof PgDriver) return this.streamFromCursor(driver, analysis, sql, params);
    return this.streamFromResult(sql, params);
  }

  private async *streamFromResult(sql: string, params: readonly unknown[]): AsyncGenerator<StreamLine> {
    try {
      const result = await this.run(sql, params, { cache: false });
      yield { fields: result.fields.map((field) => ({ name: field.name, data_type_id: field.dataTypeID })) };
      const names = result.fields.map((field) => field.name);
      for (const row of result.rows) yield names.map((name) => row[name]);
      yield { rowCount: result.rowCount, durationMs: result.durationMs };
    } catch (error) {
      yield errorLine(error);
    }
  }

  private async *streamFromCursor(driver: PgDriver, analysis: SqlAnalysis, sql: string, params: readonly unknown[]): AsyncGenerator<StreamLine> {
    const started = performance.now();
    let rows = 0;
    let failed = true;
    let transaction: PolicyTransaction | undefined;
    try {
      transaction = await PolicyTransaction.open(driver, this.policy);
      // The timeout bounds the whole cursor (PostgreSQL times the portal until the final Sync), streaming included.
      const cursor = transaction.client.query(new Cursor(sql, params as unknown[], { rowMode: 'array' }));
      try {
        let first = true;
        for (;;) {
          const batch = (await cursor.read(STREAM_BATCH_ROWS)) as unknown[][];
          if (first) {
            yield { fields: ((cursor as unknown as { _result?: pg.QueryResult })._result?.fields ?? []).map((field) => ({ name: field.name, data_type_id: field.dataTypeID })) };
            first = false;
          }
          if (batch.length === 0) break;
          rows += batch.length;
          for (const row of batch) yield row;
        }
      } finally {
        await cursor.close().catch(() => undefined);
      }
      await transaction.commit();
      failed = false;
      if (changesData(analysis)) await this.qo.reportCommittedWrites([analysis], [params]);
      yield { rowCount: rows, durationMs: performance.now() - started };
    } catch (error) {
      await transaction?.rollback();
      yield errorLine(toDriverError(error, driver.target));
    } finally {
      // A client that disconnects mid-stream closes this generator at a `yield`, with no error: the transaction
      // is still open, and only a rollback (or destroying the connection) may return it to the pool.
      await transaction?.rollback();
      this.record(analysis, params, performance.now() - started, rows, failed);
    }
  }

  private record(analysis: SqlAnalysis, params: readonly unknown[], durationMs: number, rows: number, failed: boolean, cache?: 'hit' | 'miss'): void {
    this.qo.observe(analysis, { durationMs, rows, failed, params, cache });
  }
}

function errorLine(error: unknown): StreamLine {
  const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'QUERY_FAILED';
  return { error: { code, message: error instanceof Error ? error.message : String(error) } };
}
