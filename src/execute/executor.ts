import pg from 'pg';
import type { QoptConfig } from '../config.js';
import type { Driver, QueryResultSet } from '../db/driver.js';
import { PgDriver } from '../db/pgDriver.js';
import { redactTarget } from '../db/target.js';
import type { QueryOptions, QueryPriority } from '../queryOptions.js';
import type { SqlAnalysis } from '../sql/analyze.js';
import { DriverTarget } from './driverTarget.js';
import { failureTo, toPromise } from './executionTarget.js';
import type { CheckedOutConnection, ExecutionReport, ExecutionTarget, Outcome, PoolUsage, ReportReceiver, RunLimits, SlotHandle } from './executionTarget.js';
import { PoolTarget } from './poolTarget.js';
import { isPreparable, PreparedStatements } from './preparedStatements.js';
import { ReplicaRouter } from './replicaRouter.js';
import type { ReplicaStatus } from './replicaRouter.js';
import { RetryBudget } from './retryBudget.js';
import { Scheduler } from './scheduler.js';
import type { SchedulerMetrics } from './scheduler.js';
import type { BreakerState, TargetBreaker } from './targetBreaker.js';
import { isTransientError } from './transientErrors.js';
import { UserQuotas } from './userQuotas.js';

const BYTES_PER_MB = 1024 * 1024;
const STREAM_BATCH_ROWS = 1000;

/** What the executor reports to the monitor (`qo.executor.metrics()`). */
export interface ExecutorMetrics extends SchedulerMetrics {
  /** Queries that finished (successfully or not) after reaching a target. */
  completed: number;
  failed: number;
  retries: number;
  retryBudgetExhausted: number;
  quotaRejections: number;
  timeouts: number;
  deduplicated: number;
  targets: Array<{ name: string; role: 'primary' | 'replica'; breaker: BreakerState; breakerOpened: number; lagBytes: number | null; pool: PoolUsage | null }>;
}

/** A connection checked out through the scheduler: release it exactly once. */
export interface ExecutorLease {
  connection: CheckedOutConnection;
  /** How long the checkout waited for the connection: the scheduler's queue, the pool (ms). */
  waitedMs: number;
  release(destroy?: boolean | Error): void;
}

type Attempt<T> = (target: ExecutionTarget, limits: RunLimits, slot: SlotHandle) => Promise<T>;
/** The same attempt reporting to a callback: the first attempt's path when the target's breaker is healthy. */
type AttemptWith<T> = (target: ExecutionTarget, limits: RunLimits, slot: SlotHandle, callback: Outcome<T>) => void;

/**
 * One statement's run: what its attempts share, its scheduler slot (given back once, by the target as
 * its connection frees or by the executor at the end) and the report the caller reads with the
 * outcome. One object per statement: the slot and the report cost no allocation of their own.
 */
class StatementRun implements SlotHandle, ExecutionReport {
  held = true;
  /** The breaker of the first attempt's target, when the attempt ran directly (healthy breaker). */
  direct: TargetBreaker | undefined = undefined;
  poolWaitMs: number;
  retries = 0;
  route: 'primary' | 'replica' | undefined = undefined;
  connection: number | undefined = undefined;

  constructor(
    private readonly scheduler: Scheduler,
    readonly read: boolean,
    readonly mayRetry: boolean,
    readonly session: string | undefined,
    readonly limits: RunLimits,
    readonly priority: QueryPriority | undefined,
    queuedMs: number,
  ) {
    this.poolWaitMs = queuedMs;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.scheduler.release();
  }

  connected(connection: number, poolWaitMs: number): void {
    this.connection = connection;
    this.poolWaitMs += poolWaitMs;
  }

  /** Takes a slot again (a retry after its backoff); resolves once granted. */
  reacquire(): Promise<void> {
    return new Promise((resolve) =>
      this.scheduler.schedule(this.priority, (waitedMs) => {
        this.held = true;
        this.poolWaitMs += waitedMs;
        resolve();
      }),
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An Outcome that leaves the report with `receiver` before passing the outcome on. */
function reportingTo<T>(receiver: ReportReceiver, callback: Outcome<T>): Outcome<T> {
  return (error, value, report) => {
    receiver.report = report;
    callback(error, value, report);
  };
}

function dedupeKey(sql: string, params: readonly unknown[]): string | undefined {
  if (params.length === 0) return sql;
  try {
    return `${sql}\u0000${JSON.stringify(params)}`;
  } catch {
    // bigint or a cycle in a parameter: not worth a custom serializer, run it on its own.
    return undefined;
  }
}

/**
 * The query pipeline after analysis: quota → scheduler slot (priority, bounded queue) → routing →
 * circuit breaker → statement with a server-side timeout → retry of transient failures for reads and
 * idempotent statements within a budget. Writes are never retried implicitly.
 */
export class Executor {
  readonly scheduler: Scheduler;
  readonly router: ReplicaRouter;
  private readonly quotas: UserQuotas | undefined;
  private readonly retryBudget: RetryBudget;
  private readonly inFlight = new Map<string, Array<Outcome<QueryResultSet<unknown>>>>();
  private readonly defaultLimits: RunLimits;
  private completed = 0;
  private failed = 0;
  private timeouts = 0;
  private deduplicated = 0;
  private writeEpoch = 0;

  constructor(
    private readonly config: QoptConfig,
    driver: Driver,
  ) {
    const executor = config.executor;
    const breaker = { threshold: executor.breakerThreshold, halfOpenAfterMs: executor.breakerHalfOpenMs };
    const prepared = () =>
      executor.preparedStatements ? new PreparedStatements({ prepareOnUse: executor.prepareOnUse, maxPerConnection: executor.maxPreparedPerConnection, maxTexts: executor.preparedTexts }) : undefined;
    const primary: ExecutionTarget =
      driver instanceof PgDriver ? new PoolTarget(driver.target, 'primary', driver.pool, breaker, false, executor.validateIdleAfterMs, prepared()) : new DriverTarget(driver, breaker);
    const replicas = config.database.replicas.map((url) => {
      const pool = new pg.Pool({
        connectionString: url,
        max: config.database.poolMax,
        idleTimeoutMillis: config.database.idleTimeoutMs,
        connectionTimeoutMillis: config.database.connectionTimeoutMs,
        maxLifetimeSeconds: config.database.maxLifetimeSeconds,
      });
      // An idle client whose backend died emits 'error'; unheard, it would crash the process.
      pool.on('error', () => undefined);
      return new PoolTarget(redactTarget(url), 'replica', pool, breaker, true, executor.validateIdleAfterMs, prepared());
    });
    this.router = new ReplicaRouter(primary, replicas, executor.replicaMaxLagBytes, executor.replicaLagCheckMs);
    const connections = primary.maxConnections + replicas.reduce((sum, replica) => sum + replica.maxConnections, 0);
    this.scheduler = new Scheduler({
      concurrency: primary.maxConnections === 1 && replicas.length === 0 ? 1 : Math.min(executor.maxConcurrentQueries, connections),
      maxQueueSize: executor.queueing ? executor.maxQueueSize : 0,
      agingMs: executor.priorityAgingMs,
    });
    this.quotas = config.quotas.enabled ? new UserQuotas(config.quotas) : undefined;
    this.retryBudget = new RetryBudget({
      maxRetries: executor.maxRetries,
      baseDelayMs: executor.retryBaseDelayMs,
      maxDelayMs: executor.retryMaxDelayMs,
      budgetRatio: executor.retryBudgetRatio,
      budgetMinPerSecond: executor.retryBudgetMinPerSecond,
    });
    this.defaultLimits = {
      timeoutMs: executor.queryTimeoutSeconds * 1000,
      maxRows: executor.maxResultRows,
      maxBytes: executor.memoryLimitPerQueryMb * BYTES_PER_MB,
    };
  }

  /**
   * Runs one analysed statement (autocommit) through the whole pipeline. `receiver` is given the
   * statement's report (pool wait, retries, route, connection) before the promise settles.
   */
  run<R>(analysis: SqlAnalysis, sql: string, params: readonly unknown[], options: QueryOptions = {}, receiver?: ReportReceiver): Promise<QueryResultSet<R>> {
    return toPromise((callback) => this.runWith<R>(analysis, sql, params, options, receiver ? reportingTo(receiver, callback) : callback));
  }

  /**
   * `run` reporting to a callback, with the statement's report as its third argument: the
   * optimizer's database path, one promise in all (its own).
   */
  runWith<R>(analysis: SqlAnalysis, sql: string, params: readonly unknown[], options: QueryOptions, callback: Outcome<QueryResultSet<R>>): void {
    if (analysis.kind !== 'read' || !this.config.executor.deduplicateReads) return this.runScheduled<R>(analysis, sql, params, options, callback);
    this.runShared<R>(analysis, sql, params, options, callback);
  }

  /**
   * A read that an identical read already in flight answers: it joins that one and is told its
   * outcome and report (it waited for that statement's connection and retries).
   */
  private runShared<R>(analysis: SqlAnalysis, sql: string, params: readonly unknown[], options: QueryOptions, callback: Outcome<QueryResultSet<R>>): void {
    const sharedKey = dedupeKey(sql, params);
    if (sharedKey === undefined) return this.runScheduled<R>(analysis, sql, params, options, callback);
    // A read that starts after a write committed must not join one that started before it (it would
    // return the pre-write rows): the write epoch is part of the key.
    const key = `${this.writeEpoch}|${sharedKey}`;
    const running = this.inFlight.get(key);
    if (running) {
      this.deduplicated += 1;
      running.push(callback as Outcome<QueryResultSet<unknown>>);
      return;
    }
    const waiters: Array<Outcome<QueryResultSet<unknown>>> = [callback as Outcome<QueryResultSet<unknown>>];
    this.inFlight.set(key, waiters);
    this.runScheduled<R>(analysis, sql, params, options, (error, result, report) => {
      this.inFlight.delete(key);
      for (const waiter of waiters) waiter(error, result, report);
    });
  }

  /** Called after every committed write (through qopt): later reads no longer share earlier in-flight reads. */
  noteCommittedWrite(): void {
    this.writeEpoch += 1;
  }

  /** Runs a node-postgres query config (rowMode, custom types) through the pipeline: the pool facade's path. `receiver` as in `run`. */
  runRaw(analysis: SqlAnalysis, config: pg.QueryConfig, options: QueryOptions = {}, receiver?: ReportReceiver): Promise<pg.QueryResult> {
    const preparable = isPreparable(analysis);
    const attempt: Attempt<pg.QueryResult> = (target, limits, slot) => target.queryRaw(config, limits, slot, preparable);
    return toPromise((callback) => this.runAttempts(analysis, options, attempt, undefined, receiver ? reportingTo(receiver, callback) : callback));
  }

  /** Rows of a read through a server-side cursor, holding one slot until the iteration ends. */
  async *stream<R>(analysis: SqlAnalysis, sql: string, params: readonly unknown[], options: QueryOptions = {}): AsyncGenerator<R, void, undefined> {
    const user = this.admit(options);
    try {
      await this.scheduler.acquire(options.priority);
      try {
        const target = this.router.pick(analysis.kind === 'read', options.session ?? options.user);
        yield* target.stream<R>(sql, params, STREAM_BATCH_ROWS);
      } finally {
        this.scheduler.release();
      }
    } finally {
      if (user !== undefined) this.quotas!.finish(user);
    }
  }

  /** A primary connection for exclusive use (a transaction through `qo.pool.connect()`), holding one slot. */
  async checkout(options: QueryOptions = {}): Promise<ExecutorLease> {
    const user = this.admit(options);
    let slot = false;
    const askedAt = performance.now();
    try {
      await this.scheduler.acquire(options.priority);
      slot = true;
      const primary = this.router.primary;
      const connection = await primary.breaker.execute(() => primary.checkout());
      let released = false;
      return {
        connection,
        waitedMs: performance.now() - askedAt,
        release: (destroy) => {
          if (released) return;
          released = true;
          connection.release(destroy);
          this.scheduler.release();
          if (user !== undefined) this.quotas!.finish(user);
        },
      };
    } catch (error) {
      if (slot) this.scheduler.release();
      if (user !== undefined) this.quotas!.finish(user);
      throw error;
    }
  }

  /** A snapshot for the monitor: active, queued, wait time, retries, breaker state per target. */
  metrics(): ExecutorMetrics {
    const lags = new Map<string, ReplicaStatus>(this.router.status().map((status) => [status.name, status]));
    const budget = this.retryBudget.counts();
    return {
      ...this.scheduler.metrics(),
      completed: this.completed,
      failed: this.failed,
      retries: budget.retries,
      retryBudgetExhausted: budget.budgetExhausted,
      quotaRejections: this.quotas?.rejectedCount ?? 0,
      timeouts: this.timeouts,
      deduplicated: this.deduplicated,
      targets: this.targets().map((target) => ({
        name: target.name,
        role: target.role,
        breaker: target.breaker.state,
        breakerOpened: target.breaker.openedCount,
        lagBytes: lags.get(target.name)?.lagBytes ?? null,
        pool: target.poolUsage(),
      })),
    };
  }

  /** Every target: the primary first, then the replicas. */
  targets(): ExecutionTarget[] {
    return [this.router.primary, ...this.router.replicaTargets];
  }

  /** Stops the replica poller and closes the replica pools (the primary's driver is the optimizer's). */
  async close(): Promise<void> {
    this.router.close();
    await Promise.all(this.targets().map((target) => target.close()));
  }

  private runScheduled<R>(analysis: SqlAnalysis, sql: string, params: readonly unknown[], options: QueryOptions, callback: Outcome<QueryResultSet<R>>): void {
    const preparable = isPreparable(analysis);
    const session = options.session ?? options.user;
    const done: Outcome<QueryResultSet<R>> =
      session === undefined || analysis.kind === 'read' || !this.router.hasReplicas
        ? callback
        : (error, result, report) => {
            if (error) return callback(error, undefined, report);
            this.router.recordWrite(session).then(() => callback(undefined, result, report), failureTo(callback));
          };
    this.runAttempts(
      analysis,
      options,
      (target, limits, slot) => target.query<R>(sql, params, limits, slot, preparable),
      (target, limits, slot, outcome) => target.queryWith<R>(sql, params, limits, slot, preparable, outcome),
      done,
    );
  }

  private admit(options: QueryOptions): string | undefined {
    if (!this.quotas || options.user === undefined) return undefined;
    this.quotas.admit(options.user);
    return options.user;
  }

  /**
   * One statement: the user's quota, a scheduler slot, then attempts on a target (the first at once,
   * retries of transient failures after a backoff). The slot is granted by a callback, so a queued
   * statement starts in the same turn as the `release()` that freed its slot. Callbacks, not promises,
   * on the first attempt's path when the breaker is healthy: it is every query's path (bench/executor).
   */
  private runAttempts<T>(analysis: SqlAnalysis, options: QueryOptions, attempt: Attempt<T>, attemptWith: AttemptWith<T> | undefined, callback: Outcome<T>): void {
    let user: string | undefined;
    try {
      user = this.admit(options);
      this.scheduler.schedule(options.priority, (queuedMs) => {
        const statement = this.statementOf(analysis, options, queuedMs);
        const finish = () => {
          statement.release();
          if (user !== undefined) this.quotas!.finish(user);
        };
        const succeed = (value: T) => {
          this.completed += 1;
          finish();
          callback(undefined, value, statement);
        };
        const fail = (error: unknown) => {
          finish();
          callback(error as Error, undefined, statement);
        };
        this.firstAttempt(statement, attempt, attemptWith, (error, value) => {
          if (error === undefined) {
            statement.direct?.noteSuccess();
            return succeed(value as T);
          }
          statement.direct?.noteFailure(error);
          this.retryAfter(error, statement, attempt).then(succeed, fail);
        });
      });
    } catch (error) {
      // QuotaExceededError (nothing admitted) or QueueFullError (admitted, not queued).
      if (user !== undefined) this.quotas!.finish(user);
      callback(error as Error);
    }
  }

  private statementOf(analysis: SqlAnalysis, options: QueryOptions, queuedMs: number): StatementRun {
    const read = analysis.kind === 'read';
    const limits = options.timeoutMs === undefined ? this.defaultLimits : { ...this.defaultLimits, timeoutMs: options.timeoutMs };
    return new StatementRun(this.scheduler, read, read || options.idempotent === true, options.session ?? options.user, limits, options.priority, queuedMs);
  }

  private firstAttempt<T>(statement: StatementRun, attempt: Attempt<T>, attemptWith: AttemptWith<T> | undefined, callback: Outcome<T>): void {
    try {
      // Date.now is enough for one-second budget windows and cheaper than performance.now on every query.
      this.retryBudget.recordRequest(Date.now());
      const target = this.router.pick(statement.read, statement.session);
      statement.route = target.role;
      if (!target.breaker.healthy) {
        target.breaker.execute(() => attempt(target, statement.limits, statement)).then((value) => callback(undefined, value), failureTo(callback));
        return;
      }
      // A healthy breaker is told the outcome afterwards (runAttempts): no promise layer of its own.
      statement.direct = target.breaker;
      if (attemptWith) return attemptWith(target, statement.limits, statement, callback);
      attempt(target, statement.limits, statement).then((value) => callback(undefined, value), failureTo(callback));
    } catch (error) {
      callback(error as Error);
    }
  }

  private async retryAfter<T>(firstError: unknown, statement: StatementRun, attempt: Attempt<T>): Promise<T> {
    const { read, session, limits } = statement;
    const retryable = this.config.executor.automaticRetry && statement.mayRetry;
    let error = firstError;
    for (let retry = 1; ; retry += 1) {
      if ((error as { code?: string }).code === 'QUERY_TIMEOUT') this.timeouts += 1;
      const again = retryable && retry <= this.config.executor.maxRetries && isTransientError(error) && this.retryBudget.tryAcquire(Date.now());
      if (!again) {
        this.failed += 1;
        throw error;
      }
      await sleep(this.retryBudget.delayMs(retry));
      // The failed attempt gave its slot back with its connection: queue for one again (not held while sleeping).
      if (!statement.held) {
        try {
          await statement.reacquire();
        } catch {
          this.failed += 1;
          throw error;
        }
      }
      const target = this.router.pick(read, session);
      statement.retries = retry;
      statement.route = target.role;
      try {
        return await target.breaker.execute(() => attempt(target, limits, statement));
      } catch (next) {
        error = next;
      }
    }
  }
}
