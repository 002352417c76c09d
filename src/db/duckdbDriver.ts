import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { ConnectionError, QoptError, QueryError } from '../errors.js';

/** Where the analytics copy lives when `database.duckdbPath` is not set. */
export const DEFAULT_DUCKDB_PATH = '.qopt/analytics.duckdb';

/** The table in every synced DuckDB file that records what was copied, from where, and at which generation. */
export const SYNC_TABLE = '_qopt_sync';

/** One DuckDB result: rows as JSON-safe objects (BIGINT and DECIMAL as strings, like node-postgres). */
export interface DuckDbResultSet {
  rows: Array<Record<string, unknown>>;
  rowCount: number;
  columns: string[];
}

/** What `qopt duckdb sync` recorded about one copied table. */
export interface SyncedTable {
  table: string;
  /** The source database (password redacted). */
  source: string;
  /** The source table's generation stamp when the copy was taken. */
  stamp: string;
  rows: number;
  syncedAt: string;
}

/** How to open a DuckDB file. */
export interface DuckDbOpenOptions {
  /** Open READ_ONLY: the service and `qo.hybrid` never write the analytics copy; only `qopt duckdb sync` does. */
  readOnly?: boolean;
}

/**
 * A DuckDB database file (`@duckdb/node-api`) for aggregation-heavy reads. Each statement gets its own
 * connection, so concurrent reads run in parallel inside DuckDB instead of queueing on one connection.
 */
export class DuckDbDriver {
  private constructor(
    private readonly instance: DuckDBInstance,
    /** The file, or `:memory:`. */
    readonly path: string,
    readonly readOnly: boolean,
  ) {}

  /** Opens (or, unless read-only, creates) a DuckDB file. */
  static async open(path: string, options: DuckDbOpenOptions = {}): Promise<DuckDbDriver> {
    const readOnly = options.readOnly ?? false;
    const location = path === ':memory:' ? path : resolve(path);
    if (location !== ':memory:' && !readOnly) mkdirSync(dirname(location), { recursive: true });
    try {
      const instance = await DuckDBInstance.create(location, readOnly ? { access_mode: 'READ_ONLY' } : {});
      return new DuckDbDriver(instance, location, readOnly);
    } catch (error) {
      throw new ConnectionError(`duckdb:${location}`, error);
    }
  }

  /** Runs one statement with positional parameters (`$1`, `$2`, …). */
  async query(sql: string, params: readonly unknown[] = []): Promise<DuckDbResultSet> {
    return this.session((session) => session.query(sql, params));
  }

  /** Runs statements without parameters. */
  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }

  /** Runs `work` on one connection of its own: TEMP tables and transactions live as long as it runs. */
  async session<T>(work: (session: DuckDbSession) => Promise<T>): Promise<T> {
    const connection = await this.instance.connect();
    try {
      return await work(new DuckDbSession(connection));
    } finally {
      connection.closeSync();
    }
  }

  /** The tables a DuckDB statement reads, by DuckDB's own parser (DuckDB SQL is not always PostgreSQL SQL). */
  async tablesOf(sql: string): Promise<string[]> {
    const connection = await this.instance.connect();
    try {
      return [...connection.getTableNames(sql, false)];
    } catch (error) {
      throw new QueryError(`DuckDB: ${error instanceof Error ? error.message : String(error)}`, undefined, error);
    } finally {
      connection.closeSync();
    }
  }

  /** What `qopt duckdb sync` copied into this file; empty when it never ran. */
  async syncedTables(): Promise<SyncedTable[]> {
    const exists = await this.query('SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $1', [SYNC_TABLE]);
    if (Number(exists.rows[0]?.n ?? 0) === 0) return [];
    const result = await this.query(
      `SELECT table_name, source, stamp, rows, strftime(synced_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS synced_at FROM ${SYNC_TABLE} ORDER BY table_name`,
    );
    return result.rows.map((row) => ({
      table: String(row.table_name),
      source: String(row.source),
      stamp: String(row.stamp),
      rows: Number(row.rows),
      syncedAt: String(row.synced_at),
    }));
  }

  /** Closes the file; the driver is unusable afterwards. */
  async close(): Promise<void> {
    this.instance.closeSync();
  }
}

/** One DuckDB connection (`DuckDbDriver.session`): statements run one after another, sharing TEMP tables. */
export class DuckDbSession {
  constructor(private readonly connection: DuckDBConnection) {}

  /** Runs one statement with positional parameters (`$1`, `$2`, …). */
  async query(sql: string, params: readonly unknown[] = []): Promise<DuckDbResultSet> {
    try {
      const reader = await this.connection.runAndReadAll(sql, params.length > 0 ? (params as DuckDBValue[]) : undefined);
      const rows = reader.getRowObjectsJson() as Array<Record<string, unknown>>;
      return { rows, rowCount: rows.length, columns: reader.columnNames() };
    } catch (error) {
      throw new QueryError(`DuckDB: ${error instanceof Error ? error.message : String(error)}`, undefined, error);
    }
  }

  /** Runs statements without parameters. */
  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }
}

/** The DuckDB copy of a table is older than its PostgreSQL source: re-run `qopt duckdb sync`. */
export class StaleCopyError extends QoptError {
  readonly tables: string[];

  constructor(tables: string[]) {
    super('DUCKDB_STALE', `the DuckDB copy of ${tables.join(', ')} is older than PostgreSQL: run qopt duckdb sync --tables ${tables.join(',')} (or pass allowStale)`);
    this.tables = tables;
  }
}
