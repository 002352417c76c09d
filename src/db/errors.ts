import { ConnectionError, QueryError } from '../errors.js';

interface DatabaseFailure {
  code?: string;
  message?: string;
  position?: string;
}

// Failures of the connection itself rather than of the statement: node's socket errors and SQLSTATE
// classes 08 (connection exception), 57P01-57P03 (shutdown) and 53300 (too many connections).
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN']);
const CONNECTION_STATES = /^(08...|57P01|57P02|57P03|53300|3D000|28000|28P01)$/;
const CONNECTION_MESSAGES = /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error/i;

/** True when the error says the connection (not the statement) failed. */
export function isConnectionFailure(error: unknown): boolean {
  const failure = (error ?? {}) as DatabaseFailure;
  if (failure.code && (SOCKET_CODES.has(failure.code) || CONNECTION_STATES.test(failure.code))) return true;
  return CONNECTION_MESSAGES.test(failure.message ?? '');
}

/** Wraps a driver failure: ConnectionError for the connection, QueryError (with SQLSTATE) for the statement. */
export function toDriverError(error: unknown, target: string): Error {
  if (error instanceof ConnectionError || error instanceof QueryError) return error;
  if (isConnectionFailure(error)) return new ConnectionError(target, error);
  const failure = (error ?? {}) as DatabaseFailure;
  const state = typeof failure.code === 'string' && /^[0-9A-Z]{5}$/.test(failure.code) ? failure.code : undefined;
  const message = failure.message ?? String(error);
  return new QueryError(state ? `${message} (SQLSTATE ${state})` : message, state, error);
}
