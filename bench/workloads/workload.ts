import type { Driver } from '../../src/db/driver.js';
import { QueryError } from '../../src/errors.js';

/** A seeded pseudo-random generator (mulberry32): the same seed gives the same parameter stream. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** Row counts of a workload at one scale. */
export type WorkloadSizes = Record<string, number>;

/** One of a workload's queries, in its naive ("before") form, with a parameter generator. */
export interface WorkloadQuery {
  name: string;
  description: string;
  sql: string;
  params(rng: Rng, sizes: WorkloadSizes): unknown[];
}

/** A loop that runs one query per item: the N+1 pattern the seeds describe. */
export interface WorkloadLoop {
  name: string;
  description: string;
  /** The query run once per item. */
  query: string;
  iterations: number;
  /** The parameters of each iteration. */
  params(rng: Rng, sizes: WorkloadSizes, iterations: number): unknown[][];
}

/** Progress of a long load, shown as a bar on a terminal and as lines elsewhere. */
export interface ProgressReporter {
  start(label: string, total: number): void;
  update(done: number): void;
  stop(): void;
}

/** A silent reporter, for tests. */
export const quietProgress: ProgressReporter = { start() {}, update() {}, stop() {} };

/** How a table's rows are generated: `sql` inserts the rows numbered $1..$2 (inclusive). */
export interface TableGenerator {
  table: string;
  rows: number;
  sql: string;
}

/** A seed workload: naive schema, deterministic data, the seed's queries. */
export interface Workload {
  name: string;
  description: string;
  /** The seed document it comes from. */
  seed: string;
  /** Tables, in creation order. */
  tables: readonly string[];
  /** The naive schema: primary keys only, the seeds' "before". */
  schemaSql: string;
  /** The indexes the seed recommends (its "after"), one statement each. */
  seedIndexes: readonly string[];
  sizes(scale: number): WorkloadSizes;
  generators(sizes: WorkloadSizes): TableGenerator[];
  queries: readonly WorkloadQuery[];
  loops: readonly WorkloadLoop[];
}

/** What loading produced. */
export interface LoadReport {
  workload: string;
  scale: number;
  rows: WorkloadSizes;
  seconds: number;
  /**
   * Whether PostgreSQL had published the load's write counts before the ANALYZE (always true on
   * PGlite). False means they came later than `PUBLICATION_TIMEOUT_MS`: health may then report
   * stale statistics on these tables until the next ANALYZE.
   */
  writeCountsPublished: boolean;
}

/** `abs(hash(expr, seed) % n)`: a deterministic pseudo-random integer in [0, n) computed by the server. */
export function hashMod(expression: string, seed: number, n: number): string {
  return `abs(hashint8extended((${expression})::int8, ${seed}::int8) % ${n})`;
}

const ROWS_PER_STATEMENT = 100_000;
// PostgreSQL publishes a backend's write counts once it is idle, up to PGSTAT_MAX_INTERVAL (60 s) later when other backends hold the statistics locks.
const PUBLICATION_TIMEOUT_MS = 60_000;
const PUBLICATION_POLL_MS = 100;

/**
 * Waits until pg_stat_user_tables counts the rows inserted into each table. An ANALYZE that runs
 * before is undone: the late publication adds the load to n_mod_since_analyze and n_live_tup
 * after ANALYZE has reset them, and the tables look stale (with twice their rows) right after
 * qopt analyzed them. False when the counts did not arrive within the timeout.
 */
export async function waitForPublishedInserts(driver: Driver, inserted: ReadonlyMap<string, number>, timeoutMs = PUBLICATION_TIMEOUT_MS): Promise<boolean> {
  // PGlite is one backend whose counts are its own: nothing to wait for.
  if (driver.dialect !== 'postgres' || inserted.size === 0) return true;
  const tables = [...inserted.keys()];
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await driver.query<{ name: string; inserted: string }>(
      `SELECT t.name, coalesce(s.n_tup_ins, 0)::text AS inserted
       FROM unnest($1::text[]) AS t(name) LEFT JOIN pg_stat_user_tables s ON s.relid = to_regclass(t.name)`,
      [tables],
    );
    if (rows.every((row) => Number(row.inserted) >= inserted.get(row.name)!)) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, PUBLICATION_POLL_MS));
  }
}

/** Drops and recreates the workload's tables, then generates their rows server-side, chunk by chunk. */
export async function loadWorkload(driver: Driver, workload: Workload, scale: number, progress: ProgressReporter): Promise<LoadReport> {
  if (!(scale > 0)) throw new RangeError(`scale must be a positive number, got ${scale}`);
  const started = performance.now();
  const sizes = workload.sizes(scale);
  const drops = [...workload.tables].reverse().map((table) => `DROP TABLE IF EXISTS ${table} CASCADE;`);
  await driver.exec(`${drops.join('\n')}\n${workload.schemaSql}`);
  const inserted = new Map<string, number>();
  for (const generator of workload.generators(sizes)) {
    progress.start(generator.table, generator.rows);
    for (let first = 1; first <= generator.rows; first += ROWS_PER_STATEMENT) {
      const last = Math.min(generator.rows, first + ROWS_PER_STATEMENT - 1);
      const result = await driver.query(generator.sql, [first, last]);
      inserted.set(generator.table, (inserted.get(generator.table) ?? 0) + result.rowCount);
      progress.update(last);
    }
    progress.stop();
  }
  const writeCountsPublished = await waitForPublishedInserts(driver, inserted);
  await driver.exec(`ANALYZE ${workload.tables.join(', ')}`);
  return { workload: workload.name, scale, rows: sizes, seconds: (performance.now() - started) / 1000, writeCountsPublished };
}

/** Whether the workload's tables exist with the row counts of this scale (so a load can be skipped). */
export async function isWorkloadLoaded(driver: Driver, workload: Workload, scale: number): Promise<boolean> {
  const sizes = workload.sizes(scale);
  try {
    for (const [table, rows] of Object.entries(sizes)) {
      const result = await driver.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
      if (Number(result.rows[0]?.n) !== rows) return false;
    }
    return true;
  } catch (error) {
    // 42P01: a table is missing, so the workload is not loaded; anything else is a real failure.
    if (error instanceof QueryError && error.sqlState === '42P01') return false;
    throw error;
  }
}
