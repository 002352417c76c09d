import type pg from 'pg';
import type { Driver, QueryResultSet } from '../db/driver.js';
import { QueryTimeoutError } from './errors.js';
import { failureTo, nextConnectionId } from './executionTarget.js';
import type { CheckedOutConnection, ExecutionTarget, Outcome, RunLimits, SlotHandle } from './executionTarget.js';
import { checkResultSize } from './resultLimits.js';
import { TargetBreaker } from './targetBreaker.js';

function toPgResult(result: QueryResultSet, rowMode: string | undefined): pg.QueryResult {
  const names = result.fields.map((field) => field.name);
  const rows = rowMode === 'array' ? result.rows.map((row) => names.map((name) => (row as Record<string, unknown>)[name])) : result.rows;
  return {
    command: result.command,
    rowCount: result.rowCount,
    oid: 0,
    rows,
    fields: result.fields.map((field) => ({ ...field, tableID: 0, columnID: 0, dataTypeSize: -1, dataTypeModifier: -1, format: 'text' })),
  } as pg.QueryResult;
}

/**
 * Any other driver (the embedded PGlite): one session, so one statement at a time. PGlite runs in this
 * thread and cannot be interrupted: a timeout stops the caller waiting, and the statement finishes
 * in the background (PGlite queues statements internally, so nothing overlaps it).
 */
export class DriverTarget implements ExecutionTarget {
  readonly breaker: TargetBreaker;
  readonly maxConnections = 1;

  poolUsage(): null {
    return null;
  }
  readonly role = 'primary' as const;
  readonly name: string;
  /** The one session's id for the monitor. */
  private readonly connectionId = nextConnectionId();

  constructor(
    private readonly driver: Driver,
    breakerOptions: { threshold: number; halfOpenAfterMs: number },
  ) {
    this.name = driver.target;
    this.breaker = new TargetBreaker(this.name, breakerOptions);
  }

  async query<R>(sql: string, params: readonly unknown[], limits: RunLimits, slot?: SlotHandle): Promise<QueryResultSet<R>> {
    // The scheduler's single slot is the wait for the session: the session itself is never waited for.
    slot?.connected(this.connectionId, 0);
    const result = await this.withTimeout(this.driver.query<R>(sql, params), limits.timeoutMs);
    checkResultSize(result.rows, limits);
    return result;
  }

  queryWith<R>(sql: string, params: readonly unknown[], limits: RunLimits, slot: SlotHandle | undefined, _preparable: boolean, callback: Outcome<QueryResultSet<R>>): void {
    this.query<R>(sql, params, limits, slot).then((result) => callback(undefined, result), failureTo(callback));
  }

  async queryRaw(config: pg.QueryConfig, limits: RunLimits, slot?: SlotHandle): Promise<pg.QueryResult> {
    const result = await this.query<Record<string, unknown>>(config.text, config.values ?? [], limits, slot);
    return toPgResult(result, (config as { rowMode?: string }).rowMode);
  }

  async checkout(): Promise<CheckedOutConnection> {
    // One session: the checked-out "connection" is the driver itself, held exclusively by the scheduler slot.
    return {
      processId: undefined,
      connectionId: this.connectionId,
      query: async (config) => toPgResult(await this.driver.query(config.text, config.values ?? []), (config as { rowMode?: string }).rowMode),
      release: () => undefined,
    };
  }

  async *stream<R>(sql: string, params: readonly unknown[]): AsyncGenerator<R, void, undefined> {
    // PGlite has no portal API through the Driver interface: the rows are read at once (not flat in memory).
    const result = await this.driver.query<R>(sql, params);
    yield* result.rows;
  }

  async close(): Promise<void> {
    // The driver belongs to the optimizer, which closes it.
  }

  private withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
    if (timeoutMs <= 0) return work;
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new QueryTimeoutError(timeoutMs)), timeoutMs);
    });
    return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
  }
}
