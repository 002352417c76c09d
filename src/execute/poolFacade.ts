import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { QueryResultSet } from '../db/driver.js';
import type { QueryOptions } from '../queryOptions.js';
import type { SqlAnalysis } from '../sql/analyze.js';
import type { ExecutionReport, ReportReceiver } from './executionTarget.js';
import type { Executor, ExecutorLease } from './executor.js';

/** What the facade needs of the optimizer: analysis, the cached query path, write reports and timing. */
export interface PoolHost {
  analyze(sql: string): SqlAnalysis;
  query(sql: string, params: readonly unknown[], options?: QueryOptions): Promise<QueryResultSet>;
  reportCommittedWrites(writes: readonly SqlAnalysis[]): void;
  /**
   * Runs `work` timed and recorded under the statement's fingerprint with its bound `params` (the
   * slow log and the N+1 detector read them); `work` may leave the executor's report with `receiver`.
   */
  record<T extends { rowCount: number | null }>(analysis: SqlAnalysis, params: readonly unknown[] | undefined, work: (receiver: ReportReceiver | undefined) => Promise<T>): Promise<T>;
  readonly executor: Executor;
}

type Callback = (error: Error | null, result?: pg.QueryResult) => void;

const BEGIN = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
const COMMIT = /^\s*(COMMIT|END)\b/i;
const ROLLBACK_ALL = /^\s*(ROLLBACK|ABORT)\s*(WORK|TRANSACTION)?\s*;?\s*$/i;

function changesData(analysis: SqlAnalysis): boolean {
  return analysis.kind === 'write' || analysis.kind === 'ddl' || analysis.statements.some((statement) => statement.opaque);
}

/** The arguments of node-postgres's `query(text | config, values?, callback?)`, normalized. */
function normalizeArgs(args: unknown[]): { config: pg.QueryConfig; callback: Callback | undefined } {
  const [first, second, third] = args;
  const callback = [third, second].find((value): value is Callback => typeof value === 'function');
  if (typeof first === 'string') return { config: { text: first, values: Array.isArray(second) ? second : undefined }, callback };
  const config = { ...(first as pg.QueryConfig) };
  if (Array.isArray(second)) config.values = second;
  return { config, callback };
}

function needsRawPath(config: pg.QueryConfig): boolean {
  const extra = config as { rowMode?: unknown; types?: unknown; name?: unknown };
  return extra.rowMode !== undefined || extra.types !== undefined || extra.name !== undefined;
}

function deliver<T>(work: Promise<T>, callback: Callback | undefined): Promise<T> | undefined {
  if (!callback) return work;
  work.then(
    (result) => callback(null, result as unknown as pg.QueryResult),
    (error: unknown) => callback(error as Error),
  );
  return undefined;
}

/** A client checked out of `qo.pool.connect()`: one primary connection, held until `release()`. */
export class QoptPoolClient extends EventEmitter {
  private inTransaction = false;
  private pendingWrites: SqlAnalysis[] = [];
  /** The checkout's wait, until the first statement reports it. */
  private checkoutWaitMs: number;

  constructor(
    private readonly host: PoolHost,
    private readonly lease: ExecutorLease,
    private readonly facade: QoptPool,
  ) {
    super();
    this.checkoutWaitMs = lease.waitedMs;
  }

  /** The backend's process id (node-postgres's `processID`). */
  get processID(): number | undefined {
    return this.lease.connection.processId;
  }

  /** node-postgres's `client.query`: text or config, values, optional callback. */
  query(...args: unknown[]): Promise<pg.QueryResult> | undefined {
    const { config, callback } = normalizeArgs(args);
    return deliver(this.run(config), callback);
  }

  /** Returns the connection; with an error (or true) it is destroyed instead of pooled. */
  release(destroy?: boolean | Error): void {
    this.lease.release(destroy);
    this.facade.emit('release', destroy instanceof Error ? destroy : undefined, this);
  }

  private async run(config: pg.QueryConfig): Promise<pg.QueryResult> {
    const analysis = this.host.analyze(config.text);
    const result = await this.host.record(analysis, config.values, (receiver) => {
      if (receiver) receiver.report = this.report();
      return this.lease.connection.query(config);
    });
    this.track(config.text, analysis);
    return result;
  }

  /**
   * The report of a statement on this client's connection: the primary, no retries; the checkout's
   * wait is the first statement's (Kysely and Drizzle check out a connection per statement), later
   * ones waited for none.
   */
  private report(): ExecutionReport {
    const poolWaitMs = this.checkoutWaitMs;
    this.checkoutWaitMs = 0;
    return { poolWaitMs, retries: 0, route: 'primary', connection: this.lease.connection.connectionId };
  }

  // Writes are reported after COMMIT (so a rolled-back write never invalidates), or at once in autocommit.
  private track(text: string, analysis: SqlAnalysis): void {
    if (BEGIN.test(text)) {
      this.inTransaction = true;
      this.pendingWrites = [];
      return;
    }
    if (COMMIT.test(text)) {
      this.inTransaction = false;
      const writes = this.pendingWrites;
      this.pendingWrites = [];
      if (writes.length > 0) this.host.reportCommittedWrites(writes);
      return;
    }
    if (ROLLBACK_ALL.test(text)) {
      this.inTransaction = false;
      this.pendingWrites = [];
      return;
    }
    if (!changesData(analysis)) return;
    if (this.inTransaction) this.pendingWrites.push(analysis);
    else this.host.reportCommittedWrites([analysis]);
  }
}

/**
 * A `pg.Pool`-compatible facade (query, connect/release, events, counts, end) so Kysely, Drizzle and
 * plain node-postgres code run through qopt unchanged: `pool.query` goes through the cached, monitored,
 * scheduled path; `connect()` gives a primary connection holding one executor slot.
 */
export class QoptPool extends EventEmitter {
  private ended = false;

  constructor(private readonly host: PoolHost) {
    super();
  }

  /** node-postgres's `pool.query`: text or config, values, optional callback. */
  query(...args: unknown[]): Promise<pg.QueryResult> | undefined {
    const { config, callback } = normalizeArgs(args);
    return deliver(this.run(config), callback);
  }

  /** node-postgres's `pool.connect()`: a promise, or `callback(error, client, done)`. */
  connect(callback?: (error: Error | undefined, client?: QoptPoolClient, done?: (release?: unknown) => void) => void): Promise<QoptPoolClient> | undefined {
    const work = this.host.executor.checkout().then((lease) => {
      const client = new QoptPoolClient(this.host, lease, this);
      this.emit('connect', client);
      this.emit('acquire', client);
      return client;
    });
    if (!callback) return work;
    work.then(
      (client) => callback(undefined, client, (release?: unknown) => client.release(release instanceof Error ? release : undefined)),
      (error: unknown) => callback(error as Error),
    );
    return undefined;
  }

  /** Connections in use (node-postgres's `totalCount` counts idle ones too; qopt's pool owns those). */
  get totalCount(): number {
    return this.host.executor.scheduler.metrics().active;
  }

  get idleCount(): number {
    return 0;
  }

  /** Callers waiting for a slot. */
  get waitingCount(): number {
    return this.host.executor.scheduler.metrics().queued;
  }

  /** True after `end()`. */
  get ending(): boolean {
    return this.ended;
  }

  /** Libraries call this on shutdown; the optimizer owns the real connections and closes them in `qo.close()`. */
  async end(): Promise<void> {
    this.ended = true;
  }

  private async run(config: pg.QueryConfig): Promise<pg.QueryResult> {
    const values = (config.values ?? []) as readonly unknown[];
    if (!needsRawPath(config)) {
      const result = await this.host.query(config.text, values);
      return { ...result, oid: 0, fields: result.fields } as unknown as pg.QueryResult;
    }
    const analysis = this.host.analyze(config.text);
    const result = await this.host.record(analysis, values, (receiver) => this.host.executor.runRaw(analysis, config, {}, receiver));
    if (changesData(analysis)) this.host.reportCommittedWrites([analysis]);
    return result;
  }
}
