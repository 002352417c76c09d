import { QoptError, QueryError } from '../errors.js';

/** The executor's queue is full: the caller is refused at once instead of growing memory without bound. */
export class QueueFullError extends QoptError {
  readonly queued: number;

  constructor(queued: number) {
    super('QUEUE_FULL', `the query queue is full (${queued} waiting); retry later or raise executor.maxQueueSize`);
    this.queued = queued;
  }
}

/** A user went over one of their quotas (queries per hour or concurrent queries). */
export class QuotaExceededError extends QoptError {
  readonly user: string;
  readonly quota: 'queriesPerHour' | 'concurrentQueries';
  readonly limit: number;

  constructor(user: string, quota: 'queriesPerHour' | 'concurrentQueries', limit: number) {
    const what = quota === 'queriesPerHour' ? `${limit} queries per hour` : `${limit} concurrent queries`;
    super('QUOTA_EXCEEDED', `user "${user}" is over the quota of ${what} (quotas.${quota})`);
    this.user = user;
    this.quota = quota;
    this.limit = limit;
  }
}

/** The target's circuit breaker is open: calls fail fast until a half-open probe succeeds. */
export class CircuitOpenError extends QoptError {
  readonly target: string;

  constructor(target: string, cause?: unknown) {
    super('CIRCUIT_OPEN', `${target} is failing; calls are refused until a probe succeeds`, { cause });
    this.target = target;
  }
}

/** A statement ran past its timeout and was cancelled on the server. */
export class QueryTimeoutError extends QoptError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number, cause?: unknown) {
    super('QUERY_TIMEOUT', `the statement ran longer than ${timeoutMs} ms and was cancelled on the server`, { cause });
    this.timeoutMs = timeoutMs;
  }
}

/** A result went over the per-query row or byte limit (executor.maxResultRows / memoryLimitPerQueryMb). */
export class ResultTooLargeError extends QoptError {
  readonly limit: string;

  constructor(limit: string) {
    super('RESULT_TOO_LARGE', `the result is larger than ${limit}; use qo.stream() or a LIMIT`);
    this.limit = limit;
  }
}

/** No connection could be had from the pool in time (database.connectionTimeoutMs). */
export class PoolExhaustedError extends QoptError {
  readonly target: string;

  constructor(target: string, waitedMs: number, cause: unknown) {
    super('POOL_EXHAUSTED', `no connection to ${target} became free within ${waitedMs} ms; raise database.poolMax or lower executor.maxConcurrentQueries`, { cause });
    this.target = target;
  }
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * `error.type` for the monitor (OpenTelemetry's convention): the SQLSTATE when the database refused
 * the statement, else the error's class (`QueryTimeoutError`, `ConnectionError`, `CircuitOpenError`…).
 * A QoptError's `code` is qopt's own and never read as a SQLSTATE, even when it has five letters.
 */
export function errorTypeOf(error: unknown): string {
  if (error instanceof QueryError) return error.sqlState ?? error.name;
  if (error instanceof QoptError) return error.name;
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string' && SQLSTATE.test(code)) return code;
  return error instanceof Error ? error.name : typeof error;
}
