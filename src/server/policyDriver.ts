import type pg from 'pg';
import type { QoptConfig } from '../config.js';
import type { Driver, DriverSession, ExplainOptions, ExplainResult, QueryResultSet } from '../db/driver.js';
import { toDriverError } from '../db/errors.js';
import { explainOn } from '../db/explain.js';
import type { PgDriver } from '../db/pgDriver.js';

/** What the operator decides for client SQL (`POST /query` and every endpoint that runs a client's statement); no request can change it. */
export interface QueryPolicy {
  /** `SET LOCAL ROLE` for every statement; undefined → the connection's own role. */
  role: string | undefined;
  statementTimeoutMs: number;
  /** Rows a non-streamed answer may hold. */
  maxRows: number;
}

/** The operator's policy, from `server.queryRole`, `server.queryStatementTimeoutMs` and `server.queryMaxRows`. */
export function queryPolicyOf(server: QoptConfig['server']): QueryPolicy {
  return { role: server.queryRole, statementTimeoutMs: server.queryStatementTimeoutMs, maxRows: server.queryMaxRows };
}

// A client's statement can change session settings that outlive its transaction (UPDATE pg_settings runs
// set_config(…, false) through a rule), so every policy transaction ends by restoring the connection's startup
// state. RESET ALL leaves role and session authorization alone (they are GUC_NO_RESET_ALL): RESET SESSION
// AUTHORIZATION, then RESET ROLE, restore both. Temp tables and session advisory locks are session state too.
const SESSION_RESET = 'RESET ALL; RESET SESSION AUTHORIZATION; RESET ROLE; SELECT pg_advisory_unlock_all(); DISCARD TEMP';
// Sent with the reset in one simple-protocol message: one round trip. A failing COMMIT skips the rest (and
// has rolled back); a failing ROLLBACK or reset leaves the connection in an unknown state.
const COMMIT_AND_RESET = `COMMIT; ${SESSION_RESET}`;
const ROLLBACK_AND_RESET = `ROLLBACK; ${SESSION_RESET}`;

/**
 * Sets the policy's role and timeout for the session's current transaction only (`set_config(…, true)` is SET
 * LOCAL). The client's single statement cannot lift the timeout: PostgreSQL arms the timer when a statement
 * starts, and a set_config inside it (from a function) does not re-arm it.
 */
export async function applyPolicy(session: DriverSession, policy: QueryPolicy): Promise<void> {
  await session.query("SELECT set_config('statement_timeout', $1, true), set_config('role', $2, true)", [`${policy.statementTimeoutMs}ms`, policy.role ?? 'none']);
}

function sessionOf(client: pg.PoolClient, target: string): DriverSession {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResultSet<R>> {
      try {
        const result = await client.query(sql, params as unknown[]);
        return {
          rows: result.rows as R[],
          rowCount: result.rowCount ?? result.rows.length,
          fields: result.fields.map((field) => ({ name: field.name, dataTypeID: field.dataTypeID })),
          command: result.command,
        };
      } catch (error) {
        throw toDriverError(error, target);
      }
    },
  };
}

/**
 * One pooled connection inside a transaction under the policy. It goes back to the pool only through
 * `commit` or `rollback`, which end the transaction and reset the session; a connection whose ending
 * failed is destroyed instead.
 */
export class PolicyTransaction {
  private ended = false;

  private constructor(
    /** The connection, for what a session cannot do (a server-side cursor). */
    readonly client: pg.PoolClient,
    /** Statements on this connection, errors as `QueryError`. */
    readonly session: DriverSession,
    private readonly target: string,
  ) {}

  /** Takes a connection, opens a transaction and sets the policy's role and timeout for it only. */
  static async open(driver: PgDriver, policy: QueryPolicy): Promise<PolicyTransaction> {
    let client: pg.PoolClient;
    try {
      client = await driver.pool.connect();
    } catch (error) {
      throw toDriverError(error, driver.target);
    }
    const transaction = new PolicyTransaction(client, sessionOf(client, driver.target), driver.target);
    try {
      await client.query('BEGIN');
      await applyPolicy(transaction.session, policy);
    } catch (error) {
      await transaction.rollback();
      throw error;
    }
    return transaction;
  }

  /** Commits, resets the session and releases the connection; on failure rolls back (or destroys the connection) and throws. */
  async commit(): Promise<void> {
    if (this.ended) return;
    try {
      await this.client.query(COMMIT_AND_RESET);
    } catch (error) {
      await this.rollback();
      throw toDriverError(error, this.target);
    }
    this.ended = true;
    this.client.release();
  }

  /** Rolls back, resets the session and releases the connection, or destroys it when that fails. Never throws; a no-op once ended. */
  async rollback(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      await this.client.query(ROLLBACK_AND_RESET);
    } catch (error) {
      this.client.release(error as Error);
      return;
    }
    this.client.release();
  }
}

/**
 * A Driver over the service's pool whose every statement runs under the operator's policy, for endpoints
 * that run a client's SQL other than through `/query` (optimize-query's EXPLAIN ANALYZE and proofs).
 */
export class PolicyDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly target: string;

  constructor(
    private readonly driver: PgDriver,
    private readonly policy: QueryPolicy,
  ) {
    this.target = driver.target;
  }

  query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResultSet<R>> {
    return this.transaction((session) => session.query<R>(sql, params));
  }

  async exec(sql: string): Promise<void> {
    await this.transaction((session) => session.query(sql));
  }

  explain(sql: string, params: readonly unknown[] = [], options: ExplainOptions = {}): Promise<ExplainResult> {
    return this.inTransaction((session) => explainOn(session, sql, params, options), 'rollback');
  }

  transaction<T>(work: (session: DriverSession) => Promise<T>): Promise<T> {
    return this.inTransaction(work, 'commit');
  }

  /** Nothing to release: the pool is the service driver's. */
  async close(): Promise<void> {}

  private async inTransaction<T>(work: (session: DriverSession) => Promise<T>, finish: 'commit' | 'rollback'): Promise<T> {
    const transaction = await PolicyTransaction.open(this.driver, this.policy);
    let result: T;
    try {
      result = await work(transaction.session);
    } catch (error) {
      await transaction.rollback();
      throw error;
    }
    await transaction[finish]();
    return result;
  }
}
