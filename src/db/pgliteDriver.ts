import { PGlite, types } from '@electric-sql/pglite';
import type { Results, Transaction } from '@electric-sql/pglite';
import type { Driver, DriverSession, ExplainOptions, ExplainResult, QueryResultSet } from './driver.js';
import { toDriverError } from './errors.js';
import { explainOn } from './explain.js';

// node-postgres returns int8 and numeric as strings and bytea as Buffer; PGlite is told to do the same
// so that a result does not change type when a project moves from the embedded database to a server.
const NODE_POSTGRES_COMPATIBLE_PARSERS = {
  [types.INT8]: (value: string) => value,
  [types.NUMERIC]: (value: string) => value,
  [types.BYTEA]: (value: string) => Buffer.from(value.startsWith('\\x') ? value.slice(2) : value, 'hex'),
};

function toResultSet<R>(result: Results<R>): QueryResultSet<R> {
  const command = (result as { command?: string }).command ?? '';
  return {
    rows: result.rows,
    rowCount: result.fields.length > 0 ? result.rows.length : (result.affectedRows ?? 0),
    fields: result.fields.map((field) => ({ name: field.name, dataTypeID: field.dataTypeID })),
    command: command.toUpperCase(),
  };
}

class PgliteSession implements DriverSession {
  constructor(
    private readonly tx: Transaction,
    private readonly target: string,
  ) {}

  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResultSet<R>> {
    try {
      return toResultSet(await this.tx.query<R>(sql, params as unknown[]));
    } catch (error) {
      throw toDriverError(error, this.target);
    }
  }
}

/** The embedded database: PostgreSQL compiled to WASM, in process, in a directory or in memory. */
export class PgliteDriver implements Driver {
  readonly dialect = 'pglite' as const;

  private constructor(
    private readonly db: PGlite,
    readonly target: string,
  ) {}

  /** Opens (creating if needed) the database in `dataDir`, or in memory when it is undefined. */
  static async open(dataDir: string | undefined): Promise<PgliteDriver> {
    const db = await PGlite.create(dataDir, { parsers: NODE_POSTGRES_COMPATIBLE_PARSERS });
    return new PgliteDriver(db, dataDir ? `pglite:${dataDir}` : 'memory:');
  }

  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<QueryResultSet<R>> {
    try {
      return toResultSet(await this.db.query<R>(sql, params as unknown[]));
    } catch (error) {
      throw toDriverError(error, this.target);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.db.exec(sql);
    } catch (error) {
      throw toDriverError(error, this.target);
    }
  }

  async explain(sql: string, params: readonly unknown[] = [], options: ExplainOptions = {}): Promise<ExplainResult> {
    if (!options.analyze) return explainOn(this, sql, params, options);
    return this.db.transaction(async (tx) => {
      const result = await explainOn(new PgliteSession(tx, this.target), sql, params, options);
      await tx.rollback();
      return result;
    });
  }

  async transaction<T>(work: (session: DriverSession) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction((tx) => work(new PgliteSession(tx, this.target)));
    } catch (error) {
      throw toDriverError(error, this.target);
    }
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}
