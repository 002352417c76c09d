import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { adviseIndexes } from '../../src/advise/advisor.js';
import type { AdviceReport } from '../../src/advise/advisor.js';
import { applyRecommendations, measureQuery } from '../../src/advise/apply.js';
import { quoteIdentifier } from '../../src/advise/indexCandidate.js';
import type { ApplyReport } from '../../src/advise/apply.js';
import type { AdvisorQuery } from '../../src/advise/workload.js';
import type { Driver } from '../../src/db/driver.js';
import { openDriver } from '../../src/db/openDriver.js';
import { PgDriver } from '../../src/db/pgDriver.js';
import { analyzeSql } from '../../src/sql/analyze.js';
import type { Benchmark, FigureSpec, RatioSpec } from '../harness.js';
import { loadWorkload, Rng, workloads } from '../workloads/index.js';
import type { Workload } from '../workloads/index.js';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';
const SAMPLES_PER_QUERY = 3;
/** Each query is timed for at least this long per run: sub-millisecond queries get many passes, slow ones one. */
const MIN_MEASURE_MS = { full: 100, quick: 15 };
const LOOP_ITERATIONS = 10;
const SCALE = { full: 1, quick: 0.02 };
const TARGET_SPEEDUP: Record<string, string> = { market: '>= 10x', sheets: '>= 3x', etl: '>= 3x' };

interface WorkloadRun {
  workload: Workload;
  queries: AdvisorQuery[];
  before: Array<Map<string, number>>;
  after: Array<Map<string, number>>;
  /** The same workload with the seed document's own indexes instead of the advisor's. */
  seed: Array<Map<string, number>>;
  advice: AdviceReport;
  apply: ApplyReport;
}

function loopName(workload: Workload, name: string): string {
  return `${workload.name}_${name}`;
}

function queriesOf(workload: Workload, scale: number): AdvisorQuery[] {
  const rng = new Rng(20261123);
  const sizes = workload.sizes(scale);
  const queries: AdvisorQuery[] = workload.queries.map((query) => ({
    fingerprint: analyzeSql(query.sql).fingerprint,
    name: query.name,
    sql: query.sql,
    calls: SAMPLES_PER_QUERY,
    totalMs: null,
    paramSamples: Array.from({ length: SAMPLES_PER_QUERY }, () => query.params(rng, sizes)),
  }));
  for (const loop of workload.loops) {
    queries.push({ fingerprint: analyzeSql(loop.query).fingerprint, name: loop.name, sql: loop.query, calls: LOOP_ITERATIONS, totalMs: null, paramSamples: loop.params(rng, sizes, LOOP_ITERATIONS) });
  }
  return queries;
}

async function measureWorkload(driver: Driver, queries: readonly AdvisorQuery[], minMs: number): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (const query of queries) times.set(query.fingerprint, await measureQuery(driver, query, 1, minMs));
  return times;
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function total(times: Map<string, number>): number {
  let sum = 0;
  for (const value of times.values()) sum += value;
  return sum;
}

async function withSchema<T>(url: string, work: (schemaUrl: string) => Promise<T>): Promise<T> {
  const schema = `qopt_bench_advise_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const scoped = new URL(url);
    scoped.searchParams.set('options', `-c search_path=${schema}`);
    return await work(scoped.toString());
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

async function runWorkload(workload: Workload, url: string, scale: number, runs: number, minMs: number, log: (message: string) => void): Promise<WorkloadRun> {
  return withSchema(url, async (schemaUrl) => {
    const driver = await openDriver(schemaUrl);
    if (!(driver instanceof PgDriver)) throw new Error('the advise benchmark needs PostgreSQL');
    try {
      log(`${workload.name}: loading scale ${scale}`);
      const loaded = await loadWorkload(driver, workload, scale, { start() {}, update() {}, stop() {} });
      log(`${workload.name}: loaded in ${loaded.seconds.toFixed(0)} s`);
      const queries = queriesOf(workload, scale);
      await measureWorkload(driver, queries, minMs);
      const before: Array<Map<string, number>> = [];
      for (let run = 0; run < runs; run += 1) before.push(await measureWorkload(driver, queries, minMs));
      const baseline = new Map(queries.map((query) => [query.fingerprint, medianOf(before.map((times) => times.get(query.fingerprint)!))]));
      const weighted = queries.map((query) => ({ ...query, totalMs: baseline.get(query.fingerprint)! }));
      log(`${workload.name}: advising`);
      const advice = await adviseIndexes(driver, weighted, { installHypopg: true });
      for (const recommendation of advice.recommendations) log(`  ${recommendation.definition}`);
      for (const statistics of advice.statistics) log(`  ${statistics.definition}`);
      const apply = await applyRecommendations(driver, advice, weighted, { baseline, repetitions: 3, lockTimeoutMs: 60_000, log: (message) => log(`  ${message}`) });
      const after: Array<Map<string, number>> = [];
      for (let run = 0; run < runs; run += 1) after.push(await measureWorkload(driver, queries, minMs));
      log(`${workload.name}: replacing the advisor's indexes with the seed's own`);
      for (const index of apply.applied.filter((entry) => entry.status === 'kept')) await driver.exec(`DROP INDEX ${quoteIdentifier(index.name)}`);
      for (const name of apply.statistics) await driver.exec(`DROP STATISTICS IF EXISTS ${quoteIdentifier(name)}`);
      if (apply.statistics.length > 0) await driver.exec('ANALYZE');
      for (const statement of workload.seedIndexes) await driver.exec(statement);
      const seed: Array<Map<string, number>> = [];
      for (let run = 0; run < runs; run += 1) seed.push(await measureWorkload(driver, queries, minMs));
      return { workload, queries, before, after, seed, advice, apply };
    } finally {
      await driver.close();
    }
  });
}

function figuresFor(workload: Workload): Record<string, FigureSpec> {
  const figures: Record<string, FigureSpec> = {
    [`${workload.name}_before_ms`]: { unit: 'ms', label: `${workload.name}: workload time before`, better: 'lower' },
    [`${workload.name}_after_ms`]: { unit: 'ms', label: `${workload.name}: workload time after`, better: 'lower' },
    [`${workload.name}_seed_ms`]: { unit: 'ms', label: `${workload.name}: workload time with the seed's own indexes instead`, better: 'lower' },
    [`${workload.name}_predicted_fall`]: { unit: 'fraction', label: `${workload.name}: predicted fall of workload time` },
    [`${workload.name}_measured_fall`]: { unit: 'fraction', label: `${workload.name}: measured fall of workload time`, better: 'higher' },
    [`${workload.name}_size_error_max`]: { unit: 'fraction', label: `${workload.name}: worst |estimated / real size − 1| (target <= 0.2)`, better: 'lower' },
    [`${workload.name}_hypopg_size_error_max`]: { unit: 'fraction', label: `${workload.name}: worst |HypoPG size / real size − 1| (for comparison)`, better: 'lower' },
    [`${workload.name}_worst_query_ratio`]: { unit: 'x', label: `${workload.name}: slowest query after / before (target <= 1.1)`, better: 'lower' },
    [`${workload.name}_indexes`]: { unit: 'count', label: `${workload.name}: indexes kept after validation` },
  };
  for (const name of [...workload.queries.map((query) => query.name), ...workload.loops.map((loop) => loop.name)]) {
    figures[`${loopName(workload, name)}_predicted_gain`] = { unit: 'fraction', label: `${workload.name}.${name}: predicted fall` };
    figures[`${loopName(workload, name)}_measured_gain`] = { unit: 'fraction', label: `${workload.name}.${name}: measured fall`, better: 'higher' };
  }
  return figures;
}

function ratiosFor(workload: Workload): Record<string, RatioSpec> {
  return {
    [`${workload.name}_speedup`]: { numerator: `${workload.name}_before_ms`, denominator: `${workload.name}_after_ms`, label: `${workload.name}: before / after`, target: TARGET_SPEEDUP[workload.name] },
    [`${workload.name}_seed_vs_advisor`]: { numerator: `${workload.name}_seed_ms`, denominator: `${workload.name}_after_ms`, label: `${workload.name}: seed indexes time / advisor indexes time`, target: '>= 1 (advisor at least as good)' },
    [`${workload.name}_fall_vs_predicted`]: { numerator: `${workload.name}_measured_fall`, denominator: `${workload.name}_predicted_fall`, label: `${workload.name}: measured fall / predicted fall`, target: '>= 0.9' },
  };
}

function figuresOfRun(result: WorkloadRun, run: number): Record<string, number> {
  const name = result.workload.name;
  const before = result.before[run]!;
  const after = result.after[run]!;
  const predictedWeight = result.advice.queries.reduce((sum, query) => sum + query.weight * (1 - query.predictedGain), 0);
  const kept = result.apply.applied.filter((index) => index.status === 'kept');
  const keptNames = new Set(kept.map((index) => index.name));
  const estimated = result.advice.recommendations.filter((recommendation) => keptNames.has(recommendation.name));
  const sizeErrors = estimated.map((recommendation) => Math.abs(recommendation.estimatedBytes / kept.find((index) => index.name === recommendation.name)!.realBytes! - 1));
  const hypopgErrors = estimated.filter((recommendation) => recommendation.hypopgBytes !== null).map((recommendation) => Math.abs(recommendation.hypopgBytes! / kept.find((index) => index.name === recommendation.name)!.realBytes! - 1));
  const figures: Record<string, number> = {
    [`${name}_before_ms`]: total(before),
    [`${name}_after_ms`]: total(after),
    [`${name}_seed_ms`]: total(result.seed[run]!),
    [`${name}_predicted_fall`]: result.advice.workloadWeight > 0 ? 1 - predictedWeight / result.advice.workloadWeight : 0,
    [`${name}_measured_fall`]: 1 - total(after) / total(before),
    [`${name}_size_error_max`]: sizeErrors.length > 0 ? Math.max(...sizeErrors) : 0,
    [`${name}_hypopg_size_error_max`]: hypopgErrors.length > 0 ? Math.max(...hypopgErrors) : 0,
    [`${name}_worst_query_ratio`]: Math.max(...result.queries.map((query) => after.get(query.fingerprint)! / before.get(query.fingerprint)!)),
    [`${name}_indexes`]: kept.length,
  };
  for (const query of result.queries) {
    const prediction = result.advice.queries.find((entry) => entry.fingerprint === query.fingerprint);
    figures[`${loopName(result.workload, query.name!)}_predicted_gain`] = prediction?.predictedGain ?? 0;
    figures[`${loopName(result.workload, query.name!)}_measured_gain`] = 1 - after.get(query.fingerprint)! / before.get(query.fingerprint)!;
  }
  return figures;
}

/**
 * The index advisor on the three seed workloads: load each into its own schema, time the
 * workload, advise (HypoPG), apply with validation, time it again; predicted vs measured gains
 * and estimated vs real index sizes. The timed runs happen in setup so "before" and "after" are
 * measured side by side on the same data; each run's totals are one sample.
 */
export const adviseBenchmark: Benchmark<WorkloadRun[]> = {
  name: 'advise',
  description: 'index advisor on the sheets, market and etl workloads: before / after apply, predicted vs measured',
  figures: Object.assign({}, ...workloads.map(figuresFor)) as Record<string, FigureSpec>,
  ratios: Object.assign({}, ...workloads.map(ratiosFor)) as Record<string, RatioSpec>,
  async setup(context) {
    const url = context.databaseUrl ?? process.env.DATABASE_URL ?? DEFAULT_URL;
    const scale = context.quick ? SCALE.quick : SCALE.full;
    const results: WorkloadRun[] = [];
    for (const workload of workloads) results.push(await runWorkload(workload, url, scale, context.runs, context.quick ? MIN_MEASURE_MS.quick : MIN_MEASURE_MS.full, context.log));
    return results;
  },
  async measure(state, _context, run) {
    return Object.assign({}, ...state.map((result) => figuresOfRun(result, run - 1))) as Record<string, number>;
  },
};
