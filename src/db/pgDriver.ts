import pg from 'pg';
import type { Driver, DriverSession, ExplainOptions, ExplainResult, QueryResultSet } from './driver.js';
import { toDriverError } from './errors.js';
import { explainOn } from './explain.js';
import { redactTarget } from './target.js';

/** Pool settings of the node-postgres driver. */
export interface PgDriverOptions {
  connectionString: string;
  poolMax?: number;
  idleTimeoutMs?: number;
  connectionTimeoutMs?: number;
  maxLifetimeSeconds?: number;
  /** Called when an idle pooled connection fails (its backend died); the pool replaces it. */
  onIdleError?: (error: Error) => void;
}

function toResultSet<R>(result: pg.QueryResult): QueryResultSet<R> {
  return {
    rows: result.rows as R[],
    rowCount: result.rowCount ?? result.rows.length,
    fields: result.fields.map((field) => ({ name: field.name, dataTypeID: field.dataTypeID })),
    command: result.command,
  };
}

class PgSession implements DriverSession {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly target: string,
  ) {}

  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResultSet<R>> {
    try {
      return toResultSet<R>(await this.client.query(sql, params as unknown[]));
    } catch (error) {
      throw toDriverError(error, this.target);
    }
  }
}

/** A PostgreSQL server through a node-postgres Pool. */
export class PgDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly target: string;
  /** The underlying pool, for stages (the executor) that manage connections themselves. */
  readonly pool: pg.Pool;

  constructor(options: PgDriverOptions) {
    this.target = redactTarget(options.connectionString);
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolMax ?? 10,
      idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
      maxLifetimeSeconds: options.maxLifetimeSeconds ?? 0,
    });
    // Without a listener an idle client's error (its backend was terminated) crashes the process.
    this.pool.on('error', (error) => options.onIdleError?.(error));
  }

  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResultSet<R>> {
    try {
      return toResultSet<R>(await this.pool.query(sql, params as unknown[]));
    } catch (error) {
      throw toDriverError(error, this.target);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.pool.query(sql);
    } catch (error) {
      throw toDriverError(error, this.target);
    }
  }

  async explain(sql: string, params: readonly unknown[] = [], options: ExplainOptions = {}): Promise<ExplainResult> {
    if (!options.analyze) {
      return explainOn(this, sql, params, options);
    }
    return this.inTransaction(async (session) => explainOn(session, sql, params, options), 'ROLLBACK');
  }

  async transaction<T>(work: (session: DriverSession) => Promise<T>): Promise<T> {
    return this.inTransaction(work, 'COMMIT');
  }

  private async inTransaction<T>(work: (session: DriverSession) => Promise<T>, finish: 'COMMIT' | 'ROLLBACK'): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw toDriverError(error, this.target);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(new PgSession(client, this.target));
      await client.query(finish);
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      throw toDriverError(error, this.target);
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: destroy it instead of pooling it.
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
