import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import type { Driver, QueryResultSet } from '../../src/db/driver.js';
import { PgDriver } from '../../src/db/pgDriver.js';
import { Executor } from '../../src/execute/executor.js';
import { loadConfig } from '../../src/config.js';
import type { Benchmark, BenchContext, FigureSpec, RatioSpec } from '../harness.js';
import { median } from '../harness.js';
import { marketWorkload } from '../workloads/market.js';
import { loadWorkload, quietProgress, Rng } from '../workloads/workload.js';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';
const POOL_SIZES = [1, 4, 8] as const;
const WORKERS_PER_CONNECTION = 4;
const POINT_ROWS = 100_000;
const MARKET_SCALE = 0.05;
const SLICES = 10;

interface ExecutorBenchState {
  adminUrl: string;
  schema: string;
  url: string;
  market: Optimizer;
}

function schemaUrl(base: string, schema: string): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Queries per second of `run` with `workers` closed-loop callers for `durationMs`. */
async function throughput(run: (index: number) => Promise<unknown>, workers: number, durationMs: number): Promise<number> {
  let done = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        await run(done);
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

// A statement that resolves at once: measures the executor's own cost with no I/O in the way.
const instantResult: QueryResultSet = { rows: [{ one: 1 }], rowCount: 1, fields: [{ name: 'one', dataTypeID: 23 }], command: 'SELECT' };
const instantDriver: Driver = {
  dialect: 'pglite',
  target: 'instant:',
  query: async <R>() => instantResult as QueryResultSet<R>,
  exec: async () => undefined,
  explain: async () => {
    throw new Error('not used');
  },
  transaction: async (work) => work(instantDriver),
  close: async () => undefined,
};

export async function policyOverheadMicros(iterations: number): Promise<number> {
  const config = loadConfig({ executor: { deduplicateReads: false, queryTimeoutSeconds: 0 } });
  const executor = new Executor(config, instantDriver);
  const analysis = (await import('../../src/sql/analyze.js')).analyzeSql('SELECT 1 AS one');
  const time = async (work: () => Promise<unknown>) => {
    const started = process.hrtime.bigint();
    for (let index = 0; index < iterations; index += 1) await work();
    return Number(process.hrtime.bigint() - started) / 1000 / iterations;
  };
  await time(() => executor.run(analysis, 'SELECT 1 AS one', []));
  const piped = await time(() => executor.run(analysis, 'SELECT 1 AS one', []));
  const bare = await time(() => instantDriver.query('SELECT 1 AS one', []));
  await executor.close();
  return Math.max(0, piped - bare);
}

async function rawVsExecutor(state: ExecutorBenchState, poolSize: number, durationMs: number): Promise<Record<string, number>> {
  // Raw pg and qopt share one pg.Pool, so the same server processes answer both sides: on a small VM a
  // round trip costs ~25 or ~90 µs depending on where each backend process runs, and separate pools
  // would compare the scheduler's placement, not the code. The result cache (measured by `qopt bench
  // cache`) is off: it would answer repeats itself. A second optimizer runs the point read with automatic
  // prepared statements off, so the executor's own cost is shown apart from what preparing saves
  // (SELECT 1 has no parameters and is never prepared).
  const driver = new PgDriver({ connectionString: state.url, poolMax: poolSize });
  const raw = driver.pool;
  const options = { driver, cache: { enabled: false }, monitor: { enabled: true } } as const;
  const qo = await createOptimizer({ ...options, executor: { deduplicateReads: false } });
  const unprepared = await createOptimizer({ ...options, executor: { deduplicateReads: false, preparedStatements: false } });
  const workers = poolSize * WORKERS_PER_CONNECTION;
  const rng = new Rng(poolSize);
  const id = () => rng.int(1, POINT_ROWS);
  const point = 'SELECT id, balance FROM accounts WHERE id = $1';
  const sides: Record<string, { select1?: () => Promise<unknown>; point: () => Promise<unknown> }> = {
    raw: { select1: () => raw.query('SELECT 1'), point: () => raw.query(point, [id()]) },
    exec: { select1: () => qo.query('SELECT 1'), point: () => qo.query(point, [id()]) },
    unprepared: { point: () => unprepared.query(point, [id()]) },
  };
  const names = Object.keys(sides);
  try {
    for (const side of Object.values(sides)) {
      if (side.select1) await throughput(side.select1, workers, durationMs / 8);
      await throughput(side.point, workers, durationMs / 8);
    }
    // The sides alternate in short slices, so a burst of load from elsewhere on the machine hits all
    // of them alike instead of one whole measurement; the order rotates every slice, so no side always
    // runs on another's warm-up or after-effects.
    const rates: Record<string, number[]> = {};
    const slice = durationMs / SLICES;
    for (let index = 0; index < SLICES; index += 1) {
      const order = names.map((_, position) => names[(position + index) % names.length]!);
      if (index % 2 === 1) order.reverse();
      for (const query of ['select1', 'point'] as const) {
        for (const name of order) {
          const run = sides[name]![query];
          if (run) (rates[`${name}_${query}_p${poolSize}`] ??= []).push(await throughput(run, workers, slice));
        }
      }
    }
    // The median slice of each side: a burst from elsewhere on the machine spoils a slice, not the figure.
    return Object.fromEntries(Object.entries(rates).map(([figure, values]) => [figure, median(values)]));
  } finally {
    await qo.close();
    await unprepared.close();
    await driver.close();
  }
}

async function nPlusOneVsBatched(market: Optimizer, rounds: number): Promise<Record<string, number>> {
  const loop = marketWorkload.loops[0]!;
  const sizes = marketWorkload.sizes(MARKET_SCALE);
  const rng = new Rng(7);
  let naive = 0;
  let batched = 0;
  for (let round = 0; round < rounds; round += 1) {
    const params = loop.params(rng, sizes, loop.iterations);
    const day = params[0]![1];
    let started = performance.now();
    const naiveRows: unknown[] = [];
    for (const [symbol, date] of params) naiveRows.push(...(await market.query(loop.query, [symbol, date])).rows);
    naive += performance.now() - started;
    started = performance.now();
    const loader = market.loader('prices', 'symbol', { where: { date: day }, columns: ['close'] });
    const batchedRows = (await Promise.all(params.map(([symbol]) => loader.load(symbol)))).flat();
    batched += performance.now() - started;
    if (batchedRows.length !== naiveRows.length) throw new Error(`batched loop returned ${batchedRows.length} rows, the N+1 loop ${naiveRows.length}`);
  }
  return { n_plus_one_ms: naive / rounds, batched_ms: batched / rounds };
}

async function streamMemory(url: string, rows: number): Promise<Record<string, number>> {
  const qo = await createOptimizer({ cache: { enabled: false }, database: { url, poolMax: 1 } });
  try {
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    let seen = 0;
    const started = performance.now();
    for await (const _row of qo.stream(`SELECT g, md5(g::text) AS hash FROM generate_series(1, ${rows}) AS g`)) {
      seen += 1;
      if (seen % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    const seconds = (performance.now() - started) / 1000;
    if (seen !== rows) throw new Error(`streamed ${seen} rows of ${rows}`);
    return { stream_rows_per_s: seen / seconds, stream_rss_growth_mb: (peak - before) / 1024 / 1024 };
  } finally {
    await qo.close();
  }
}

const figures: Record<string, FigureSpec> = {
  policy_overhead_us: { unit: 'µs/query', label: 'executor pipeline cost around an instant statement (no I/O)', better: 'lower' },
  n_plus_one_ms: { unit: 'ms/loop', label: 'market N+1 loop: 100 queries, one per symbol', better: 'lower' },
  batched_ms: { unit: 'ms/loop', label: 'the same loop through qo.loader (one = ANY query)', better: 'lower' },
  stream_rows_per_s: { unit: 'rows/s', label: 'qo.stream throughput', better: 'higher' },
  stream_rss_growth_mb: { unit: 'MB', label: 'resident memory growth while streaming', better: 'lower' },
};
const ratios: Record<string, RatioSpec> = {
  n_plus_one_vs_batched: { numerator: 'n_plus_one_ms', denominator: 'batched_ms', label: 'N+1 loop time / batched loop time', target: '≥ 10' },
};
for (const size of POOL_SIZES) {
  figures[`raw_select1_p${size}`] = { unit: 'q/s', label: `raw pg.Pool SELECT 1, pool ${size}`, better: 'higher' };
  figures[`exec_select1_p${size}`] = { unit: 'q/s', label: `qo.query SELECT 1, pool ${size}`, better: 'higher' };
  figures[`raw_point_p${size}`] = { unit: 'q/s', label: `raw pg.Pool point read, pool ${size}`, better: 'higher' };
  figures[`exec_point_p${size}`] = { unit: 'q/s', label: `qo.query point read, pool ${size}`, better: 'higher' };
  figures[`unprepared_point_p${size}`] = { unit: 'q/s', label: `qo.query point read, prepared statements off, pool ${size}`, better: 'higher' };
  ratios[`select1_p${size}`] = { numerator: `exec_select1_p${size}`, denominator: `raw_select1_p${size}`, label: `SELECT 1 throughput, qopt / raw, pool ${size}`, target: '≥ 0.95' };
  ratios[`point_p${size}`] = { numerator: `exec_point_p${size}`, denominator: `raw_point_p${size}`, label: `point read throughput, qopt / raw, pool ${size}`, target: '≥ 0.95' };
  ratios[`point_unprepared_p${size}`] = { numerator: `unprepared_point_p${size}`, denominator: `raw_point_p${size}`, label: `point read throughput, qopt without prepared statements / raw, pool ${size}` };
}

/** The executor against raw node-postgres, batching against N+1, and streaming memory. */
export const executorBenchmark: Benchmark<ExecutorBenchState> = {
  name: 'executor',
  description: 'qo.query vs raw pg.Pool at pool 1/4/8, policy overhead, N+1 vs qo.loader, qo.stream memory',
  figures,
  ratios,
  async setup(context: BenchContext) {
    const adminUrl = context.databaseUrl ?? DEFAULT_URL;
    const schema = `qopt_bench_exec_${randomBytes(4).toString('hex')}`;
    await adminQuery(adminUrl, `CREATE SCHEMA ${schema}`);
    const url = schemaUrl(adminUrl, schema);
    const market = await createOptimizer({ cache: { enabled: false }, database: { url, poolMax: 4 } });
    context.log(`loading the market workload at scale ${MARKET_SCALE} into ${schema}`);
    await loadWorkload(market.driver, marketWorkload, MARKET_SCALE, quietProgress);
    for (const statement of marketWorkload.seedIndexes) await market.driver.exec(statement);
    await market.driver.exec(`CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
      INSERT INTO accounts SELECT i, i % 1000 FROM generate_series(1, ${POINT_ROWS}) AS i; ANALYZE`);
    return { adminUrl, schema, url, market };
  },
  async measure(state, context) {
    const durationMs = context.quick ? 700 : 2000;
    const values: Record<string, number> = { policy_overhead_us: await policyOverheadMicros(context.quick ? 50_000 : 200_000) };
    for (const size of POOL_SIZES) Object.assign(values, await rawVsExecutor(state, size, durationMs));
    Object.assign(values, await nPlusOneVsBatched(state.market, context.quick ? 5 : 20));
    Object.assign(values, await streamMemory(state.url, context.quick ? 500_000 : 5_000_000));
    return values;
  },
  async teardown(state) {
    await state.market.close();
    await adminQuery(state.adminUrl, `DROP SCHEMA IF EXISTS ${state.schema} CASCADE`);
  },
};
