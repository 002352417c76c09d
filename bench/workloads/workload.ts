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
}

/** `abs(hash(expr, seed) % n)`: a deterministic pseudo-random integer in [0, n) computed by the server. */
export function hashMod(expression: string, seed: number, n: number): string {
  return `abs(hashint8extended((${expression})::int8, ${seed}::int8) % ${n})`;
}

const ROWS_PER_STATEMENT = 100_000;

/** Drops and recreates the workload's tables, then generates their rows server-side, chunk by chunk. */
export async function loadWorkload(driver: Driver, workload: Workload, scale: number, progress: ProgressReporter): Promise<LoadReport> {
  if (!(scale > 0)) throw new RangeError(`scale must be a positive number, got ${scale}`);
  const started = performance.now();
  const sizes = workload.sizes(scale);
  const drops = [...workload.tables].reverse().map((table) => `DROP TABLE IF EXISTS ${table} CASCADE;`);
  await driver.exec(`${drops.join('\n')}\n${workload.schemaSql}`);
  for (const generator of workload.generators(sizes)) {
    progress.start(generator.table, generator.rows);
    for (let first = 1; first <= generator.rows; first += ROWS_PER_STATEMENT) {
      const last = Math.min(generator.rows, first + ROWS_PER_STATEMENT - 1);
      await driver.query(generator.sql, [first, last]);
      progress.update(last);
    }
    progress.stop();
  }
  await driver.exec(`ANALYZE ${workload.tables.join(', ')}`);
  return { workload: workload.name, scale, rows: sizes, seconds: (performance.now() - started) / 1000 };
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
