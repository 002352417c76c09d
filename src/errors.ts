/** Base class of every error qopt raises on purpose; `code` is stable for programs to match on. */
export class QoptError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value that the schema rejects; names the option, the value and what is allowed. */
export class ConfigError extends QoptError {
  readonly option: string;
  readonly value: unknown;
  readonly allowed: string;

  constructor(option: string, value: unknown, allowed: string) {
    super('CONFIG_INVALID', `invalid value for ${option}: ${JSON.stringify(value)} (${allowed})`);
    this.option = option;
    this.value = value;
    this.allowed = allowed;
  }
}

/** SQL the PostgreSQL parser rejects, with the 1-based line and column of the failure and a caret excerpt. */
export class SqlSyntaxError extends QoptError {
  /** 0-based character offset into the statement text. */
  readonly position: number;
  readonly line: number;
  readonly column: number;
  readonly excerpt: string;

  constructor(reason: string, position: number, line: number, column: number, excerpt: string) {
    super('SQL_SYNTAX', `${reason} at line ${line}, column ${column}\n${excerpt}`);
    this.position = position;
    this.line = line;
    this.column = column;
    this.excerpt = excerpt;
  }
}

/** The database (or another service) could not be reached; `target` never contains a password. */
export class ConnectionError extends QoptError {
  readonly target: string;

  constructor(target: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('CONNECTION_FAILED', `cannot connect to ${target}: ${reason}`, { cause });
    this.target = target;
  }
}

/** A statement the database rejected; keeps the SQLSTATE and the server's own message. */
export class QueryError extends QoptError {
  readonly sqlState: string | undefined;

  constructor(message: string, sqlState: string | undefined, cause: unknown) {
    super('QUERY_FAILED', message, { cause });
    this.sqlState = sqlState;
  }
}

/** A request for something qopt cannot do in this setting (for example an unknown benchmark or workload). */
export class UsageError extends QoptError {
  constructor(message: string) {
    super('USAGE', message);
  }
}
