import pg from 'pg';
import Cursor from 'pg-cursor';
import type { QueryResultSet } from '../db/driver.js';
import { isConnectionFailure, toDriverError } from '../db/errors.js';
import { PoolExhaustedError, QueryTimeoutError } from './errors.js';
import type { CheckedOutConnection, ExecutionTarget, RunLimits } from './executionTarget.js';
import { checkResultSize } from './resultLimits.js';
import { TargetBreaker } from './targetBreaker.js';

const QUERY_CANCELED = '57014';

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
  private readonly releasedAt = new WeakMap<pg.PoolClient, number>();
  private validationFailures = 0;

  constructor(
    readonly name: string,
    readonly role: 'primary' | 'replica',
    readonly pool: pg.Pool,
    breakerOptions: { threshold: number; halfOpenAfterMs: number },
    private readonly ownsPool: boolean,
    private readonly validateIdleAfterMs = 0,
  ) {
    this.breaker = new TargetBreaker(name, breakerOptions);
    this.maxConnections = pool.options.max ?? 10;
    // pg-pool removes its error listener from a client while it is checked out: a socket that dies
    // just before checkout (its 'end' still in flight) would then emit an unheard 'error' and crash
    // the process. The failure still reaches the caller through the query it breaks.
    const guarded = new WeakSet<pg.PoolClient>();
    pool.on('acquire', (client) => {
      if (guarded.has(client)) return;
      guarded.add(client);
      client.on('error', () => undefined);
    });
    pool.on('release', (_error, client) => this.releasedAt.set(client, Date.now()));
  }

  async query<R>(sql: string, params: readonly unknown[], limits: RunLimits): Promise<QueryResultSet<R>> {
    const result = await this.run((client) => client.query(sql, params as unknown[]), limits);
    checkResultSize(result.rows, limits);
    return toResultSet<R>(result);
  }

  async queryRaw(config: pg.QueryConfig, limits: RunLimits): Promise<pg.QueryResult> {
    const result = await this.run((client) => client.query(config), limits);
    checkResultSize(result.rows, limits);
    return result;
  }

  async checkout(): Promise<CheckedOutConnection> {
    const client = await this.connect();
    return {
      processId: (client as unknown as { processID?: number }).processID,
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

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  /** Idle connections found dead by validation (and replaced) so far. */
  get replacedConnections(): number {
    return this.validationFailures;
  }

  private async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      if (/timeout exceeded when trying to connect/i.test((error as Error).message ?? '')) {
        throw new PoolExhaustedError(this.name, this.pool.options.connectionTimeoutMillis ?? 0, error);
      }
      throw toDriverError(error, this.name);
    }
    return this.validated(client);
  }

  // A connection that sat idle may have lost its backend without an 'error' yet: ping it before use.
  private async validated(client: pg.PoolClient): Promise<pg.PoolClient> {
    const idleSince = this.releasedAt.get(client);
    if (this.validateIdleAfterMs === 0 || idleSince === undefined || Date.now() - idleSince < this.validateIdleAfterMs) return client;
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

  private async run(work: (client: pg.PoolClient) => Promise<pg.QueryResult>, limits: RunLimits): Promise<pg.QueryResult> {
    const client = await this.connect();
    let cancelled = false;
    let destroy: Error | undefined;
    const timer =
      limits.timeoutMs > 0
        ? setTimeout(() => {
            cancelled = true;
            void this.cancelOnServer(client);
          }, limits.timeoutMs)
        : undefined;
    try {
      return await work(client);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (cancelled && code === QUERY_CANCELED) throw new QueryTimeoutError(limits.timeoutMs, error);
      if (isConnectionFailure(error)) destroy = error as Error;
      throw toDriverError(error, this.name);
    } finally {
      if (timer) clearTimeout(timer);
      client.release(destroy ?? (cancelled ? new Error('statement was cancelled') : undefined));
    }
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
