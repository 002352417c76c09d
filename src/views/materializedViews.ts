import type { Driver, QueryResultSet } from '../db/driver.js';
import { quoteIdentifier } from '../advise/indexCandidate.js';
import { MaterializedViewError } from './errors.js';
import type { MaterializedViewSpec } from './viewSpec.js';

interface ViewState {
  spec: MaterializedViewSpec;
  /** When the last successful refresh started (writes after it are not in the view). */
  refreshedAt: number;
  /** When the first write not yet in the view was committed, or null when the view is current. */
  dirtySince: number | null;
  refreshing: Promise<void> | null;
}

/** Where a read was answered. */
export type ViewReadSource = 'view' | 'base';

/** Options of the manager. */
export interface MaterializedViewManagerOptions {
  /** Refresh a view this long after the first write that made it stale (default 1 s); null = only on schedule. */
  refreshAfterWritesMs?: number | null;
  /** Clock, for tests of the freshness bound. */
  now?: () => number;
}

/**
 * Creates and serves materialized views for hot queries: unique index for `REFRESH …
 * CONCURRENTLY`, refresh on a schedule or shortly after committed writes to a base table, and a
 * freshness bound — a view with writes older than `maxStalenessMs` not yet refreshed is bypassed
 * and the read goes to the base query, so a reader never sees data staler than the bound.
 */
export class MaterializedViewManager {
  private readonly views = new Map<string, ViewState>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;
  /** Reads answered by the view and by the base query (fallbacks). */
  readonly counts = { view: 0, base: 0, refreshes: 0, refreshFailures: 0 };

  constructor(
    private readonly driver: Driver,
    private readonly options: MaterializedViewManagerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Creates the view (if missing) with its unique index, and manages it. */
  async create(spec: MaterializedViewSpec): Promise<void> {
    const started = this.now();
    await this.driver.exec(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${quoteIdentifier(spec.name)} AS ${spec.definition}`);
    await this.driver.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${quoteIdentifier(`${spec.name}_key`)} ON ${quoteIdentifier(spec.name)} (${spec.uniqueKey.map(quoteIdentifier).join(', ')})`);
    // Planner statistics from the start: autovacuum may be off, and a never-analyzed view is planned blind.
    await this.driver.exec(`ANALYZE ${quoteIdentifier(spec.name)}`);
    this.views.set(spec.name, { spec, refreshedAt: started, dirtySince: null, refreshing: null });
  }

  /** Manages a view that already exists (for example after a restart); it is treated as stale until refreshed. */
  adopt(spec: MaterializedViewSpec): void {
    this.views.set(spec.name, { spec, refreshedAt: 0, dirtySince: 0, refreshing: null });
  }

  private state(name: string): ViewState {
    const state = this.views.get(name);
    if (!state) throw new MaterializedViewError(`materialized view ${name} is not managed by qopt`);
    return state;
  }

  /** `REFRESH MATERIALIZED VIEW CONCURRENTLY`: readers of the view are not blocked. One refresh at a time per view. */
  async refresh(name: string): Promise<void> {
    const state = this.state(name);
    if (state.refreshing) return state.refreshing;
    const started = this.now();
    const dirtyAtStart = state.dirtySince;
    state.refreshing = (async () => {
      try {
        await this.driver.exec(`REFRESH MATERIALIZED VIEW CONCURRENTLY ${quoteIdentifier(name)}`);
        state.refreshedAt = started;
        // Writes committed after the refresh started may be missing from it: the view stays dirty for them.
        if (state.dirtySince === dirtyAtStart) state.dirtySince = null;
        this.counts.refreshes += 1;
      } catch (error) {
        this.counts.refreshFailures += 1;
        throw new MaterializedViewError(`refresh of ${name} failed: ${(error as Error).message}`, { cause: error });
      } finally {
        state.refreshing = null;
      }
    })();
    return state.refreshing;
  }

  /** Whether reads may use the view: no unrefreshed write older than the freshness bound. */
  isFresh(name: string): boolean {
    const state = this.state(name);
    return state.dirtySince === null || this.now() - state.dirtySince <= state.spec.maxStalenessMs;
  }

  /** Tells the manager that writes to these tables committed (wire to `qo.onCommittedWrites`). */
  tablesWritten(tables: readonly string[]): void {
    for (const state of this.views.values()) {
      if (!state.spec.tables.some((table) => tables.includes(table))) continue;
      if (state.dirtySince === null) state.dirtySince = this.now();
      const delay = this.options.refreshAfterWritesMs === undefined ? 1000 : this.options.refreshAfterWritesMs;
      if (delay !== null) this.later(delay, () => this.refresh(state.spec.name));
    }
  }

  /** Refreshes every managed view on an interval until `close()`. */
  schedule(intervalMs: number): void {
    const timer = setInterval(() => {
      for (const name of this.views.keys()) this.refresh(name).catch(() => undefined);
    }, intervalMs);
    timer.unref();
    this.timers.add(timer);
  }

  private later(delayMs: number, work: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // A failed refresh is counted in `counts.refreshFailures`; reads fall back to the base query past the bound.
      work().catch(() => undefined);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Answers the view's hot query: from the view while fresh, from the base tables past the bound. */
  async read<R = Record<string, unknown>>(name: string, params: readonly unknown[] = []): Promise<QueryResultSet<R> & { source: ViewReadSource }> {
    const state = this.state(name);
    if (this.isFresh(name)) {
      this.counts.view += 1;
      return { ...(await this.driver.query<R>(state.spec.viewSql, params)), source: 'view' };
    }
    this.counts.base += 1;
    return { ...(await this.driver.query<R>(state.spec.baseSql, params)), source: 'base' };
  }

  /** Managed views with their freshness. */
  list(): Array<{ name: string; fresh: boolean; refreshedAt: number; dirtySince: number | null; spec: MaterializedViewSpec }> {
    return [...this.views.values()].map((state) => ({ name: state.spec.name, fresh: this.isFresh(state.spec.name), refreshedAt: state.refreshedAt, dirtySince: state.dirtySince, spec: state.spec }));
  }

  /** Drops a managed view. */
  async drop(name: string): Promise<void> {
    this.state(name);
    await this.driver.exec(`DROP MATERIALIZED VIEW IF EXISTS ${quoteIdentifier(name)}`);
    this.views.delete(name);
  }

  /** Stops every timer (views stay in the database). */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
