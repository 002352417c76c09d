import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DuckDbDriver } from '../../src/db/duckdbDriver.js';
import { syncTablesToDuckDb } from '../../src/db/duckdbSync.js';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import { startServer } from '../../src/server/app.js';
import type { RunningServer } from '../../src/server/app.js';
import { median } from '../harness.js';
import type { BenchContext, Benchmark } from '../harness.js';
import { loadWorkload, quietProgress, Rng } from '../workloads/index.js';
import { marketWorkload } from '../workloads/market.js';
import { loadInWorker } from '../httpLoad.js';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = randomBytes(18).toString('base64url');
const FINGERPRINTS = 10_000;
const SECTOR_QUERY = marketWorkload.queries.find((query) => query.name === 'sector_aggregation')!;

interface ServiceBenchState {
  schema: string;
  adminUrl: string;
  qo: Optimizer;
  server: RunningServer;
  duck: DuckDbDriver;
  duckDir: string;
  sizes: Record<string, number>;
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

// Ten thousand distinct query shapes (a subquery alias is part of the fingerprint), each run once for real.
async function recordFingerprints(qo: Optimizer, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await qo.query(`SELECT q${i}.x FROM (SELECT 1 AS x) AS q${i}`);
}

/** avg() is exact numeric on PostgreSQL and a double on DuckDB: equal to the double's precision, nothing looser. */
const AVG_RELATIVE_TOLERANCE = 1e-12;

function sameAverage(postgresql: unknown, duckdb: unknown): boolean {
  const expected = Number(postgresql);
  const actual = Number(duckdb);
  return Number.isFinite(expected) && Math.abs(expected - actual) <= AVG_RELATIVE_TOLERANCE * Math.abs(expected);
}

/** Same sectors in the same order, the same counts and volume sums (exact), the same mean close. */
function sameAggregates(postgresql: Array<Record<string, unknown>>, duckdb: Array<Record<string, unknown>>): boolean {
  return (
    postgresql.length > 0 &&
    postgresql.length === duckdb.length &&
    postgresql.every((row, index) => {
      const other = duckdb[index]!;
      return row.sector === other.sector && String(row.prices) === String(other.prices) && String(row.volume) === String(other.volume) && sameAverage(row.avg_close, other.avg_close);
    })
  );
}

async function timedMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** The service under load, and DuckDB against PostgreSQL on the market workload's sector aggregation. */
export const serviceBenchmark: Benchmark<ServiceBenchState> = {
  name: 'service',
  description: 'HTTP service under load (dashboard with 10,000 fingerprints, POST /query) and DuckDB vs PostgreSQL on the market sector aggregation',
  figures: {
    dashboard_rps: { unit: 'req/s', label: 'GET /performance/dashboard, 10,000 fingerprints, 8 connections', better: 'higher' },
    dashboard_p99_ms: { unit: 'ms', label: 'GET /performance/dashboard p99', better: 'lower' },
    query_rps: { unit: 'req/s', label: 'POST /query, a cached symbol lookup (after the first call every answer is a cache hit), 16 connections', better: 'higher' },
    query_p99_ms: { unit: 'ms', label: 'POST /query p99', better: 'lower' },
    postgresql_sector_ms: { unit: 'ms', label: 'sector aggregation on PostgreSQL (seed indexes), median of 3 dates', better: 'lower' },
    postgresql_naive_sector_ms: { unit: 'ms', label: 'sector aggregation on PostgreSQL, naive plan (index scans off), median of 3 dates', better: 'lower' },
    duckdb_sector_ms: { unit: 'ms', label: 'sector aggregation on the DuckDB copy, median of 3 dates', better: 'lower' },
  },
  ratios: {
    duckdb_speedup: { numerator: 'postgresql_sector_ms', denominator: 'duckdb_sector_ms', label: 'DuckDB speed-up on the sector aggregation vs PostgreSQL with the seed indexes', target: '≥ 5×' },
    duckdb_speedup_naive: { numerator: 'postgresql_naive_sector_ms', denominator: 'duckdb_sector_ms', label: 'DuckDB speed-up vs PostgreSQL on the naive plan', target: '≥ 5×' },
  },
  async setup(context: BenchContext) {
    const adminUrl = context.databaseUrl ?? DEFAULT_DATABASE_URL;
    if (!/^postgres(ql)?:\/\//.test(adminUrl)) throw new Error('the service benchmark needs a PostgreSQL server (--database postgres://…)');
    const scale = context.quick ? 0.05 : 1;
    const schema = `qopt_bench_service_${randomBytes(3).toString('hex')}`;
    await adminQuery(adminUrl, `CREATE SCHEMA ${schema}`);
    const url = new URL(adminUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const qo = await createOptimizer({
      database: { url: url.toString(), poolMax: 8 },
      redis: { url: context.redisUrl, keyPrefix: `${schema}:` },
      server: { apiToken: TOKEN, rateLimitPerMinute: 100_000_000 },
    });
    context.log(`loading the market workload at scale ${scale} into ${schema}`);
    await loadWorkload(qo.driver, marketWorkload, scale, quietProgress);
    for (const statement of marketWorkload.seedIndexes) await qo.driver.exec(statement);
    await qo.driver.exec('ANALYZE symbols, prices');
    const duckDir = mkdtempSync(join(tmpdir(), 'qopt-bench-duckdb-'));
    context.log('copying symbols and prices into DuckDB');
    await syncTablesToDuckDb(qo.driver, join(duckDir, 'market.duckdb'), ['symbols', 'prices']);
    const duck = await DuckDbDriver.open(join(duckDir, 'market.duckdb'), { readOnly: true });
    context.log(`recording ${FINGERPRINTS} distinct fingerprints`);
    qo.recorder.reset();
    await recordFingerprints(qo, FINGERPRINTS);
    const server = await startServer(qo, { port: 0 });
    return { schema, adminUrl, qo, server, duck, duckDir, sizes: marketWorkload.sizes(scale) };
  },
  async measure(state, context, run) {
    const durationMs = context.quick ? 1500 : 4000;
    const dashboard = await loadInWorker({
      url: `${state.server.url}/api/v1/performance/dashboard`,
      method: 'GET',
      headers: {},
      connections: 8,
      durationMs,
    });
    const query = await loadInWorker({
      url: `${state.server.url}/api/v1/query`,
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT * FROM symbols WHERE symbol = $1', params: ['S00007'] }),
      connections: 16,
      durationMs,
    });
    if (dashboard.failures > 0 || query.failures > 0) throw new Error(`non-200 answers under load: dashboard ${dashboard.failures}, query ${query.failures}`);
    const rng = new Rng(run);
    // One untimed pass on each side first: both are measured warm (PostgreSQL's buffers are warm from the load; the DuckDB file was just opened).
    const warm = SECTOR_QUERY.params(new Rng(1_000 + run), state.sizes);
    await state.qo.driver.query(SECTOR_QUERY.sql, warm);
    await state.duck.query(SECTOR_QUERY.sql, warm);
    const postgresql: number[] = [];
    const naive: number[] = [];
    const duckdb: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const params = SECTOR_QUERY.params(rng, state.sizes);
      let pgRows: Array<Record<string, unknown>> = [];
      let duckRows: Array<Record<string, unknown>> = [];
      postgresql.push(await timedMs(async () => (pgRows = (await state.qo.driver.query(SECTOR_QUERY.sql, params)).rows)));
      duckdb.push(await timedMs(async () => (duckRows = (await state.duck.query(SECTOR_QUERY.sql, params)).rows)));
      if (!sameAggregates(pgRows, duckRows)) throw new Error('DuckDB and PostgreSQL disagree on the sector aggregation');
      // The workload's naive schema has no secondary index: the same plan, with index scans switched off for one transaction.
      naive.push(
        await state.qo.driver.transaction(async (session) => {
          await session.query("SELECT set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true)");
          return timedMs(() => session.query(SECTOR_QUERY.sql, params));
        }),
      );
    }
    return {
      dashboard_rps: dashboard.requestsPerSecond,
      dashboard_p99_ms: dashboard.p99Ms,
      query_rps: query.requestsPerSecond,
      query_p99_ms: query.p99Ms,
      postgresql_sector_ms: median(postgresql),
      postgresql_naive_sector_ms: median(naive),
      duckdb_sector_ms: median(duckdb),
    };
  },
  async teardown(state) {
    await state.server.close();
    await state.duck.close();
    await state.qo.close();
    rmSync(state.duckDir, { recursive: true, force: true });
    await adminQuery(state.adminUrl, `DROP SCHEMA IF EXISTS ${state.schema} CASCADE`);
  },
};
