import pg from 'pg';
import Cursor from 'pg-cursor';
import type { QueryResultSet } from '../db/driver.js';
import { isConnectionFailure, toDriverError } from '../db/errors.js';
import { PoolExhaustedError, QueryTimeoutError } from './errors.js';
import { failureTo, nextConnectionId, toPromise } from './executionTarget.js';
import type { CheckedOutConnection, ExecutionTarget, Outcome, PoolUsage, RunLimits, SlotHandle } from './executionTarget.js';
import { Deadlines } from './deadlines.js';
import type { Deadline } from './deadlines.js';
import { isStalePreparedStatement } from './preparedStatements.js';
import type { PreparedStatements } from './preparedStatements.js';
import { checkResultSize } from './resultLimits.js';
import { TargetBreaker } from './targetBreaker.js';

const QUERY_CANCELED = '57014';

// Kept on the client object itself: cheaper on every checkout than a WeakMap lookup.
const RELEASED_AT = Symbol('qopt.releasedAt');
const GUARDED = Symbol('qopt.guarded');
const CONNECTION_ID = Symbol('qopt.connectionId');
type StatementCallback = (error: Error | null | undefined, result: pg.QueryResult) => void;
type Send = (client: pg.PoolClient, done: StatementCallback) => void;
type TaggedClient = pg.PoolClient & { [RELEASED_AT]?: number; [GUARDED]?: true; [CONNECTION_ID]?: number };

/** The connection's id for the monitor, given the first time qopt runs a statement on it. */
function connectionIdOf(client: TaggedClient): number {
  return (client[CONNECTION_ID] ??= nextConnectionId());
}

function toResultSet<R>(result: pg.QueryResult): QueryResultSet<R> {
  return {
    rows: result.rows as R[],
    rowCount: result.rowCount ?? result.rows.length,
    fields: result.fields.map((field) => ({ name: field.name, dataTypeID: field.dataTypeID })),
    command: result.command,
  };
}

/**
 * A PostgreSQL server (primary or replica) through a node-postgres Pool. A timeout sends
 * `pg_cancel_backend` from a separate connection, so the statement stops on the server (node-postgres's
 * own query_timeout only stops waiting: brianc/node-postgres#1954); the connection that ran a cancelled
 * statement is destroyed rather than pooled, so a late cancel can never hit the next user's statement.
 */
export class PoolTarget implements ExecutionTarget {
  readonly breaker: TargetBreaker;
  readonly maxConnections: number;
  private cancels = 0;
  private validationFailures = 0;
  /**
   * A connection whose statement just ended, offered to the statement its freed slot starts next (in
   * the same synchronous turn): handed over directly, it skips the pool's release and checkout (an
   * idle timer armed and cleared, listeners and events) on every statement of a saturated pool.
   */
  private spare: pg.PoolClient | undefined;
  /** Running statements' timeouts: one timer per timeout length, not one per statement. */
  private readonly deadlines = new Deadlines<pg.PoolClient>((deadline) => void this.cancelOnServer(deadline.subject));

  constructor(
    readonly name: string,
    readonly role: 'primary' | 'replica',
    readonly pool: pg.Pool,
    breakerOptions: { threshold: number; halfOpenAfterMs: number },
    private readonly ownsPool: boolean,
    private readonly validateIdleAfterMs = 0,
    /** Automatic prepared statements for repeated texts (`executor.preparedStatements`); undefined = off. */
    private readonly prepared?: PreparedStatements,
  ) {
    this.breaker = new TargetBreaker(name, breakerOptions);
    this.maxConnections = pool.options.max ?? 10;
    // pg-pool removes its error listener from a client while it is checked out: a socket that dies
    // just before checkout (its 'end' still in flight) would then emit an unheard 'error' and crash
    // the process. The failure still reaches the caller through the query it breaks.
    pool.on('acquire', (client: TaggedClient) => {
      if (client[GUARDED]) return;
      client[GUARDED] = true;
      client.on('error', () => undefined);
    });
    if (validateIdleAfterMs > 0) pool.on('release', (_error, client: TaggedClient) => (client[RELEASED_AT] = Date.now()));
  }

  query<R>(sql: string, params: readonly unknown[], limits: RunLimits, slot?: SlotHandle, preparable = false): Promise<QueryResultSet<R>> {
    return toPromise((callback) => this.queryWith<R>(sql, params, limits, slot, preparable, callback));
  }

  queryWith<R>(sql: string, params: readonly unknown[], limits: RunLimits, slot: SlotHandle | undefined, preparable: boolean, callback: Outcome<QueryResultSet<R>>): void {
    const finish = (result: pg.QueryResult) => {
      checkResultSize(result.rows, limits);
      return toResultSet<R>(result);
    };
    const unnamed: Send = (client, done) => client.query(sql, params as unknown[], done);
    // Without parameters node-postgres sends the simple-query message, one round of parse + plan + run
    // that costs the server less than Bind / Execute of a prepared statement (measured on SELECT 1).
    const name = preparable && params.length > 0 ? this.prepared?.nameOf(sql) : undefined;
    if (name === undefined) return this.run(unnamed, limits, slot, finish, undefined, callback);
    const prepared = this.prepared!;
    const named: Send = (client, done) => {
      if (!prepared.usableOn(client, name)) return unnamed(client, done);
      client.query({ name, text: sql, values: params as unknown[] }, done);
    };
    this.run(named, limits, slot, finish, unnamed, callback);
  }

  queryRaw(config: pg.QueryConfig, limits: RunLimits, slot?: SlotHandle, preparable = false): Promise<pg.QueryResult> {
    const finish = (result: pg.QueryResult) => {
      checkResultSize(result.rows, limits);
      return result;
    };
    const asGiven: Send = (client, done) => client.query(config, done);
    // A caller's own statement name (Kysely, Drizzle and pg users may set one) is kept as it is.
    const name = preparable && config.name === undefined && (config.values?.length ?? 0) > 0 ? this.prepared?.nameOf(config.text) : undefined;
    const prepared = this.prepared!;
    const named: Send = (client, done) => {
      if (!prepared.usableOn(client, name!)) return asGiven(client, done);
      client.query({ ...config, name }, done);
    };
    return toPromise((callback) => (name === undefined ? this.run(asGiven, limits, slot, finish, undefined, callback) : this.run(named, limits, slot, finish, asGiven, callback)));
  }

  async checkout(): Promise<CheckedOutConnection> {
    const client = await this.connect();
    return {
      processId: (client as unknown as { processID?: number }).processID,
      connectionId: connectionIdOf(client),
      query: (config) => client.query(config),
      release: (destroy) => client.release(destroy),
    };
  }

  async *stream<R>(sql: string, params: readonly unknown[], batchSize: number): AsyncGenerator<R, void, undefined> {
    const client = await this.connect();
    const cursor = client.query(new Cursor<R>(sql, params as unknown[]));
    let failure: Error | undefined;
    try {
      for (;;) {
        const rows = await cursor.read(batchSize);
        if (rows.length === 0) return;
        for (const row of rows) yield row;
      }
    } catch (error) {
      failure = toDriverError(error, this.name);
      throw failure;
    } finally {
      // An abandoned stream (break, return, throw in the consumer) lands here: close the portal first.
      await cursor.close().catch((error: unknown) => {
        failure ??= error as Error;
      });
      client.release(failure && isConnectionFailure(failure) ? failure : undefined);
    }
  }

  /** Server-side cancels sent so far. */
  get cancelCount(): number {
    return this.cancels;
  }

  poolUsage(): PoolUsage {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount, max: this.maxConnections };
  }

  async close(): Promise<void> {
    this.deadlines.close();
    if (this.ownsPool) await this.pool.end();
  }

  /** Idle connections found dead by validation (and replaced) so far. */
  get replacedConnections(): number {
    return this.validationFailures;
  }

  private async connect(): Promise<pg.PoolClient> {
    let client: TaggedClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.connectFailure(error);
    }
    return this.needsValidation(client) ? this.revalidated(client) : client;
  }

  private connectFailure(error: unknown): Error {
    if (/timeout exceeded when trying to connect/i.test((error as Error).message ?? '')) {
      return new PoolExhaustedError(this.name, this.pool.options.connectionTimeoutMillis ?? 0, error);
    }
    return toDriverError(error, this.name);
  }

  private needsValidation(client: TaggedClient): boolean {
    const idleSince = client[RELEASED_AT];
    return idleSince !== undefined && this.validateIdleAfterMs > 0 && Date.now() - idleSince >= this.validateIdleAfterMs;
  }

  // A connection that sat idle may have lost its backend without an 'error' yet: ping it before use.
  private async revalidated(client: pg.PoolClient): Promise<pg.PoolClient> {
    try {
      await client.query('SELECT 1');
      return client;
    } catch (error) {
      this.validationFailures += 1;
      client.release(error as Error);
      try {
        return await this.pool.connect();
      } catch (retryError) {
        throw toDriverError(retryError, this.name);
      }
    }
  }

  /**
   * Checks out a connection, sends one statement on it under its deadline, gives the slot back and
   * the connection to the pool, then calls `callback` with `finish(result)` or the error. Callbacks all
   * the way (node-postgres's, the executor's, the optimizer's single promise): it is every statement's
   * path (bench/executor), and each promise layer on it costs as much as a tenth of a `SELECT 1`'s
   * client time. When the connection's prepared statement turned stale (a schema change, a DISCARD),
   * that connection is closed and the statement runs once more through `unprepared` on another: the
   * server refused it before executing anything.
   */
  private run<T>(send: Send, limits: RunLimits, slot: SlotHandle | undefined, finish: (result: pg.QueryResult) => T, unprepared: Send | undefined, callback: Outcome<T>): void {
    let fallback = unprepared;
    const connect = (sender: Send) => {
      const handed = this.spare;
      if (handed !== undefined) {
        this.spare = undefined;
        return onConnection(handed, sender, 0);
      }
      // An idle connection comes back in this turn: only a real wait (a full pool, a new connection) is timed.
      const askedAt = this.pool.idleCount > 0 ? 0 : performance.now();
      this.pool.connect((error, client) => {
        if (error || !client) return callback(this.connectFailure(error));
        if (!this.needsValidation(client)) return onConnection(client, sender, askedAt);
        this.revalidated(client).then((valid) => onConnection(valid, sender, askedAt), failureTo(callback));
      });
    };
    const onConnection = (client: pg.PoolClient, sender: Send, askedAt: number) => {
      slot?.connected(connectionIdOf(client), askedAt === 0 ? 0 : performance.now() - askedAt);
      const deadline: Deadline<pg.PoolClient> | undefined = limits.timeoutMs > 0 ? this.deadlines.track(limits.timeoutMs, client) : undefined;
      let settled = false;
      const done: StatementCallback = (error, result) => {
        if (settled) return;
        settled = true;
        deadline?.finish();
        if (error && fallback && !deadline?.expired && isStalePreparedStatement(error)) {
          client.release(error);
          const again = fallback;
          fallback = undefined;
          return connect(again);
        }
        let failure: Error | undefined;
        let destroy: Error | undefined;
        if (error) {
          const code = (error as { code?: string }).code;
          if (deadline?.expired && code === QUERY_CANCELED) failure = new QueryTimeoutError(limits.timeoutMs, error);
          else {
            if (isConnectionFailure(error)) destroy = error;
            failure = toDriverError(error, this.name);
          }
        }
        if (!error && !deadline?.expired && this.mayHandOver(client)) {
          // The next queued statement starts inside slot.release() and takes this connection as it is
          // (node-postgres calls a statement back after ReadyForQuery: the connection is idle now).
          this.spare = client;
          slot?.release();
          if (this.spare === client) {
            this.spare = undefined;
            client.release();
          }
        } else {
          slot?.release();
          client.release(destroy ?? (deadline?.expired ? new Error('statement was cancelled') : undefined));
        }
        if (failure) return callback(failure);
        let value: T;
        try {
          value = finish(result);
        } catch (finishError) {
          return callback(finishError as Error);
        }
        callback(undefined, value);
      };
      try {
        sender(client, done);
      } catch (error) {
        done(error as Error, undefined as unknown as pg.QueryResult);
      }
    };
    connect(send);
  }

  /**
   * A connection may skip the pool only while nobody else waits for one of the pool's connections
   * (plain pg users of the same pool keep their turn) and the pool has not retired it
   * (`maxLifetimeSeconds`: pg-pool marks such a client and drops it at its next release).
   */
  private mayHandOver(client: pg.PoolClient): boolean {
    if (this.pool.waitingCount > 0) return false;
    const expired = (this.pool as unknown as { _expired?: WeakSet<object> })._expired;
    return expired === undefined ? false : !expired.has(client);
  }

  private async cancelOnServer(client: pg.PoolClient): Promise<void> {
    const processId = (client as unknown as { processID?: number }).processID;
    if (processId === undefined) return;
    this.cancels += 1;
    const canceller = new pg.Client(this.pool.options);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [processId]);
    } catch {
      // The target is unreachable: the statement's own connection is failing too and will error out.
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }
}
