import type pg from 'pg';
import type { QueryResultSet } from '../db/driver.js';
import type { ResultLimits } from './resultLimits.js';
import type { TargetBreaker } from './targetBreaker.js';

/** How long a statement may run and how large its result may be. */
export interface RunLimits extends ResultLimits {
  /** 0 = no timeout. */
  timeoutMs: number;
}

/**
 * The scheduler slot a statement holds. A target gives it back the moment the statement's connection
 * frees and before that connection returns to the pool, so the next queued statement is already
 * waiting for it and takes it at once (as a raw pg.Pool's own queue would); idempotent.
 */
export interface SlotHandle {
  release(): void;
  /**
   * Told, once per attempt, which connection the statement got (`connectionId`) and how long it
   * waited for it in the pool (ms; 0 when one was idle or handed over).
   */
  connected(connection: number, poolWaitMs: number): void;
}

/**
 * What the executor tells its caller about one statement's run besides the outcome, for the monitor.
 * Passed by reference to the outcome callback (no copy per statement): read it there.
 */
export interface ExecutionReport {
  /** Time spent waiting for a connection over every attempt: the scheduler's queue plus the pool's checkout (ms). */
  readonly poolWaitMs: number;
  /** Retries made before this outcome (0 when the first attempt decided it). */
  readonly retries: number;
  /** The role of the target the last attempt went to, as the router decided; undefined when none was picked. */
  readonly route: 'primary' | 'replica' | undefined;
  /** The `connectionId` of the connection the last attempt ran on; undefined when it got none. */
  readonly connection: number | undefined;
}

/**
 * Called once with the error or the value (and, from the executor, its report): the hot path's
 * callbacks, one promise at the caller's end.
 */
export type Outcome<T> = (error: Error | undefined, value?: T, report?: ExecutionReport) => void;

/** Where a promise-returning path leaves a statement's report for its caller: set before the promise settles. */
export interface ReportReceiver {
  report: ExecutionReport | undefined;
}

let lastConnectionId = 0;

/**
 * A new connection identifier, unique in this process across every target (so bursts on a primary
 * connection and on a replica connection are never mixed up by the N+1 detector).
 */
export function nextConnectionId(): number {
  lastConnectionId += 1;
  return lastConnectionId;
}

/** The promise of a callback-style operation (the public, promise-returning ends of the hot path). */
export function toPromise<T>(start: (callback: Outcome<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** A promise rejection handler for an Outcome (a rejection without a reason still reports a failure). */
export function failureTo(callback: Outcome<never>): (reason: unknown) => void {
  return (reason) => callback((reason as Error | undefined) ?? new Error('the statement failed without a reason'));
}

/** A connection checked out for a caller's exclusive use (the pool facade's `connect()`). */
export interface CheckedOutConnection {
  query(config: pg.QueryConfig): Promise<pg.QueryResult>;
  /** Returns it; with an error (or true) it is destroyed instead of pooled. */
  release(destroy?: boolean | Error): void;
  /** The backend process id, when the target has one. */
  readonly processId: number | undefined;
  /** The connection's id for the monitor (`ExecutionReport.connection`). */
  readonly connectionId: number;
}

/** A target's connection pool: what `/execution/metrics` shows of resource use. */
export interface PoolUsage {
  /** Connections open (idle + checked out). */
  total: number;
  idle: number;
  /** Checkouts waiting for a connection. */
  waiting: number;
  max: number;
}

/** A database the executor can send work to: the primary or one replica. */
export interface ExecutionTarget {
  readonly name: string;
  readonly role: 'primary' | 'replica';
  readonly breaker: TargetBreaker;
  /** Most statements this target can run at once (PGlite: 1). */
  readonly maxConnections: number;
  /** Its connection pool right now; null for a target without one (PGlite, a single-session driver). */
  poolUsage(): PoolUsage | null;
  /**
   * Runs one statement, cancelling it on the server at the timeout. `preparable`: one plannable
   * statement, which a target may run as an automatic prepared statement.
   */
  query<R>(sql: string, params: readonly unknown[], limits: RunLimits, slot?: SlotHandle, preparable?: boolean): Promise<QueryResultSet<R>>;
  /** `query` reporting to a callback instead of a promise (the executor's hot path). */
  queryWith<R>(sql: string, params: readonly unknown[], limits: RunLimits, slot: SlotHandle | undefined, preparable: boolean, callback: Outcome<QueryResultSet<R>>): void;
  /** Runs a node-postgres query config as is (rowMode, types), returning node-postgres's result. */
  queryRaw(config: pg.QueryConfig, limits: RunLimits, slot?: SlotHandle, preparable?: boolean): Promise<pg.QueryResult>;
  /** A connection for exclusive use (transactions through the pool facade). */
  checkout(): Promise<CheckedOutConnection>;
  /** Rows of a statement in batches through a server-side cursor; closing the iterator closes the cursor. */
  stream<R>(sql: string, params: readonly unknown[], batchSize: number): AsyncGenerator<R, void, undefined>;
  close(): Promise<void>;
}
