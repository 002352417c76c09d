import { isConnectionFailure } from '../db/errors.js';

// 40001 serialization failure, 40P01 deadlock, 57P01 admin shutdown (pg_terminate_backend),
// 57P02 crash shutdown, 57P03 cannot connect now, 53300 too many connections, class 08 connection exceptions.
const TRANSIENT_STATES = /^(40001|40P01|57P01|57P02|57P03|53300|08...)$/;
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

function codeOf(error: unknown): string | undefined {
  const value = error as { sqlState?: unknown; code?: unknown } | null;
  if (typeof value?.sqlState === 'string') return value.sqlState;
  if (typeof value?.code === 'string') return value.code;
  return undefined;
}

/** True when running the same statement again may succeed: the failure was the moment, not the statement. */
export function isTransientError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth += 1) {
    const code = codeOf(current);
    if (code && (TRANSIENT_STATES.test(code) || SOCKET_CODES.has(code))) return true;
    if (isConnectionFailure(current)) return true;
  }
  return false;
}

/** True when the target itself is unreachable or refusing work: what a circuit breaker counts. */
export function isTargetFailure(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth += 1) {
    if (isConnectionFailure(current)) return true;
  }
  return false;
}
