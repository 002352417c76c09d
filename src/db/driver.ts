/** One result set, shaped like node-postgres's (int8 and numeric as strings, bytea as Buffer). */
export interface QueryResultSet<R = Record<string, unknown>> {
  rows: R[];
  /** Rows returned, or rows affected by a write. */
  rowCount: number;
  fields: Array<{ name: string; dataTypeID: number }>;
  /** The command tag: SELECT, INSERT, UPDATE, … */
  command: string;
}

/** Something that runs statements: a driver, or one connection of it inside a transaction. */
export interface DriverSession {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResultSet<R>>;
}

/** Options of EXPLAIN. ANALYZE runs the statement, always inside a transaction that is rolled back. */
export interface ExplainOptions {
  analyze?: boolean;
  buffers?: boolean;
  /** With `analyze`: false skips per-node timing (`TIMING OFF`), so the execution time is not inflated by clock reads. */
  timing?: boolean;
}

/** One node of a PostgreSQL JSON plan (`EXPLAIN (FORMAT JSON)`), with its children under `Plans`. */
export interface PlanNode {
  'Node Type': string;
  'Total Cost': number;
  'Startup Cost': number;
  'Plan Rows': number;
  'Plan Width': number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Actual Total Time'?: number;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

/** A parsed EXPLAIN result. */
export interface ExplainResult {
  plan: PlanNode;
  planningTimeMs: number | null;
  executionTimeMs: number | null;
  /** Everything else EXPLAIN printed (triggers, settings, JIT). */
  raw: Record<string, unknown>;
}

/** The kinds of database qopt runs on. */
export type DriverDialect = 'postgres' | 'pglite';

/**
 * What qopt needs of a database. Two small implementations: node-postgres (a real server) and
 * PGlite (embedded). Every later stage talks to this interface only.
 */
export interface Driver extends DriverSession {
  readonly dialect: DriverDialect;
  /** Where it connects, with any password redacted. */
  readonly target: string;
  /** Runs a script of one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  /** The plan of a statement (with its parameters bound); ANALYZE runs it in a rolled-back transaction. */
  explain(sql: string, params?: readonly unknown[], options?: ExplainOptions): Promise<ExplainResult>;
  /** Runs `work` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (session: DriverSession) => Promise<T>): Promise<T>;
  /** Releases every connection; the driver is unusable afterwards. */
  close(): Promise<void>;
}
