import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { hypopgSchema } from '../../src/advise/hypopgEvaluator.js';
import { candidateName, createIndexStatement } from '../../src/advise/indexCandidate.js';
import type { IndexCandidate } from '../../src/advise/indexCandidate.js';
import { loadCatalog } from '../../src/analyze/catalog.js';
import { findAntiPatterns, findAntiPatternsInText } from '../../src/analyze/findings.js';
import type { Driver, DriverSession } from '../../src/db/driver.js';
import { explainOn } from '../../src/db/explain.js';
import { openDriver } from '../../src/db/openDriver.js';
import { sameBag } from '../../src/rewrite/bag.js';
import { rewriteStatement } from '../../src/rewrite/rewriter.js';
import type { RewriteCandidate } from '../../src/rewrite/rewriter.js';
import { verifyRewrite } from '../../src/rewrite/verify.js';
import type { RewriteVerdict } from '../../src/rewrite/verify.js';
import { analyzeSqlUncached } from '../../src/sql/analyze.js';
import { median } from '../harness.js';
import type { Benchmark, BenchContext } from '../harness.js';
import { sheetsWorkload } from '../workloads/sheets.js';
import { loadWorkload, quietProgress, Rng } from '../workloads/workload.js';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';
const QUERIES = ['latest_cells', 'filter_rows_self_join'] as const;
/** Bound of the cost ratio a rewrite must meet, as in the default config. */
const MAX_COST_RATIO = 0.9;

interface Pair {
  name: string;
  sql: string;
  rewrite: RewriteCandidate;
  proven: boolean;
  params: unknown[][];
  /** The indexes the cheapest rewrite-with-its-index proposes (HypoPG-priced), or the first proposal when unpriced. */
  proposal: IndexCandidate[];
}

interface RewriteBenchState {
  driver: Driver;
  schema: string;
  adminUrl: string;
  /** The admin URL with the bench schema on the search path. */
  schemaUrl: string;
  withoutIndexes: Pair[];
  withIndexes: Pair[];
  /** The latest-cells pair with the seed indexes plus the index its rewrite proposed, built for real. */
  withOwnIndex: Pair[];
  /** Names of the proposed indexes built for `withOwnIndex` (dropped while the other states are measured). */
  ownIndexes: string[];
  mismatches: number;
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * For each query: every rewrite candidate is verified; the measured one is the cheapest proven rewrite, or,
 * when none is proven, the cheapest by the planner (measured, reported as unproven, never applied by qopt).
 */
async function preparePairs(driver: Driver, context: BenchContext, sizes: Record<string, number>, names: readonly string[] = QUERIES): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (const name of names) {
    const query = sheetsWorkload.queries.find((candidate) => candidate.name === name)!;
    const rng = new Rng(42);
    const params = Array.from({ length: context.quick ? 3 : 5 }, () => query.params(rng, sizes));
    const catalog = await loadCatalog(driver, analyzeSqlUncached(query.sql).readTables);
    const plan = rewriteStatement(query.sql, params[0]!, catalog);
    const verified: Array<{ candidate: RewriteCandidate; verdict: RewriteVerdict }> = [];
    for (const candidate of plan.candidates) {
      const verdict = await verifyRewrite(driver, catalog, { sql: query.sql, params: params[0]! }, candidate, { maxCostRatio: MAX_COST_RATIO });
      context.log(`  ${name}: ${candidate.rules.join(' + ')} — ${verdict.proven ? 'proven' : `not proven: ${verdict.reasons.join('; ')}`} (cost ratio ${verdict.costRatio.toFixed(3)}, ${verdict.improvementPercent}% estimated improvement)`);
      const supporting = verdict.supportingIndexes;
      if (supporting) context.log(`    proposes ${supporting.statements.join('; ')}: ratio with it ${supporting.costRatio?.toFixed(3) ?? 'unknown'} (vs today ${supporting.costRatioToToday?.toFixed(3) ?? 'unknown'}), ${supporting.provenWithIndexes ? 'proven with it' : `not proven with it: ${supporting.reason ?? ''}`}`);
      verified.push({ candidate, verdict });
    }
    const byCost = [...verified].sort((a, b) => a.verdict.after.totalCost - b.verdict.after.totalCost);
    const chosen = byCost.find((entry) => entry.verdict.proven) ?? byCost[0];
    if (!chosen) throw new Error(`no rewrite of ${name}: ${JSON.stringify(plan.refusals)}`);
    context.log(`${name}: measuring ${chosen.candidate.rules.join(' + ')} (${chosen.verdict.proven ? 'proven' : 'NOT proven: qopt would not apply it'})`);
    const proposing = verified.filter((entry) => (entry.candidate.supportingIndexes ?? []).length > 0);
    const priced = (entry: { verdict: RewriteVerdict }) => entry.verdict.supportingIndexes?.after?.totalCost ?? Number.POSITIVE_INFINITY;
    const proposal = [...proposing].sort((a, b) => priced(a) - priced(b))[0]?.candidate.supportingIndexes ?? [];
    pairs.push({ name, sql: query.sql, rewrite: chosen.candidate, proven: chosen.verdict.proven, params, proposal });
  }
  return pairs;
}

/** Ends the no-index transaction, so the dropped indexes come back. */
class IndexesRestored extends Error {}

async function timeMs(driver: DriverSession, sql: string, params: unknown[]) {
  const started = performance.now();
  const result = await driver.query(sql, params);
  return { ms: performance.now() - started, result };
}

/** Server execution time only (EXPLAIN ANALYZE, TIMING OFF): no rows sent, none parsed by the client. */
async function serverMs(driver: DriverSession, sql: string, params: unknown[]): Promise<number> {
  return (await explainOn(driver, sql, params, { analyze: true, timing: false })).executionTimeMs ?? Number.NaN;
}

/** Every value left as the text PostgreSQL sent: what a client receives before it decodes a single column. */
const TEXT_AS_SENT = { getTypeParser: () => (value: string) => value };

/**
 * The latest-cells pair on a plain node-postgres client that parses no column type: the naive query with
 * index scans disabled (the plan it gets without indexes) against the rewrite with its index. What is left
 * is PostgreSQL's execution, its output of 25,000 rows and their transfer, which no client can avoid.
 */
async function untypedLatestPair(url: string, pair: Pair): Promise<{ naive: number; rewritten: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const naive: number[] = [];
    const rewritten: number[] = [];
    for (const params of pair.params) {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_bitmapscan = off');
      let started = performance.now();
      await client.query({ text: pair.sql, values: params, types: TEXT_AS_SENT });
      naive.push(performance.now() - started);
      await client.query('ROLLBACK');
      started = performance.now();
      await client.query({ text: pair.rewrite.sql, values: params, types: TEXT_AS_SENT });
      rewritten.push(performance.now() - started);
    }
    return { naive: median(naive), rewritten: median(rewritten) };
  } finally {
    await client.end();
  }
}

/** Drops indexes for the duration of `work` inside a transaction, then rolls the drop back. */
async function withoutIndexes(driver: Driver, names: readonly string[], work: (session: DriverSession) => Promise<void>): Promise<void> {
  await driver
    .transaction(async (session) => {
      for (const name of names) await session.query(`DROP INDEX ${name}`);
      await work(session);
      throw new IndexesRestored();
    })
    .catch((error: unknown) => {
      if (!(error instanceof IndexesRestored) && !(error instanceof Error && error.cause instanceof IndexesRestored)) throw error;
    });
}

const SEED_INDEX_NAMES = sheetsWorkload.seedIndexes.map((statement) => /INDEX (\w+)/.exec(statement)![1]!);

/** The seed's latest-cells and three-filter queries, naive vs rewritten, without and with the seed's indexes. */
export const rewriteBenchmark: Benchmark<RewriteBenchState> = {
  name: 'rewrite',
  description: "sheets workload on PostgreSQL: naive vs rewritten (DISTINCT ON, EXISTS), without and with the seed indexes, and with the rewrite's proposed index; client-observed and server-execution times; static analysis latency",
  figures: {
    latest_naive_noindex_ms: { unit: 'ms', label: 'latest cells, naive, no index', better: 'lower' },
    latest_rewritten_noindex_ms: { unit: 'ms', label: 'latest cells, rewritten, no index', better: 'lower' },
    filter_naive_noindex_ms: { unit: 'ms', label: 'three filters, naive, no index', better: 'lower' },
    filter_rewritten_noindex_ms: { unit: 'ms', label: 'three filters, rewritten, no index', better: 'lower' },
    latest_naive_index_ms: { unit: 'ms', label: 'latest cells, naive, seed indexes', better: 'lower' },
    latest_rewritten_index_ms: { unit: 'ms', label: 'latest cells, rewritten, seed indexes', better: 'lower' },
    latest_naive_ownindex_ms: { unit: 'ms', label: "latest cells, naive, seed indexes + the rewrite's proposed index", better: 'lower' },
    latest_rewritten_ownindex_ms: { unit: 'ms', label: 'latest cells, rewritten + its proposed index (and the seed indexes)', better: 'lower' },
    latest_naive_noindex_server_ms: { unit: 'ms', label: 'latest cells, naive, no index: server execution only (EXPLAIN ANALYZE, TIMING OFF; no rows sent)', better: 'lower' },
    latest_rewritten_noindex_server_ms: { unit: 'ms', label: 'latest cells, rewritten, no index: server execution only', better: 'lower' },
    latest_naive_index_server_ms: { unit: 'ms', label: 'latest cells, naive, seed indexes: server execution only', better: 'lower' },
    latest_rewritten_index_server_ms: { unit: 'ms', label: 'latest cells, rewritten, seed indexes: server execution only', better: 'lower' },
    latest_naive_ownindex_server_ms: { unit: 'ms', label: 'latest cells, naive, seed + proposed index: server execution only', better: 'lower' },
    latest_rewritten_ownindex_server_ms: { unit: 'ms', label: 'latest cells, rewritten + its proposed index: server execution only', better: 'lower' },
    latest_naive_noindex_untyped_ms: { unit: 'ms', label: 'latest cells, naive, index scans off (its no-index plan), rows received as text, no column decoded', better: 'lower' },
    latest_rewritten_ownindex_untyped_ms: { unit: 'ms', label: 'latest cells, rewritten + its proposed index, rows received as text, no column decoded', better: 'lower' },
    filter_naive_index_ms: { unit: 'ms', label: 'three filters, naive, seed indexes', better: 'lower' },
    filter_rewritten_index_ms: { unit: 'ms', label: 'three filters, rewritten, seed indexes', better: 'lower' },
    analysis_p50_ms: { unit: 'ms', label: 'full SQL analysis (fingerprint, references) + all rules, one query ≤ 2 KB, wall p50', better: 'lower' },
    analysis_p95_ms: { unit: 'ms', label: 'full SQL analysis + all rules, one query ≤ 2 KB, wall p95', better: 'lower' },
    parse_rules_p95_ms: { unit: 'ms', label: 'parse + all 14 rules of one query ≤ 2 KB (no database), wall p95', better: 'lower' },
    parse_rules_cpu_p95_ms: { unit: 'ms', label: 'parse + all 14 rules of one query ≤ 2 KB, CPU time p95', better: 'lower' },
    analysis_cpu_p95_ms: { unit: 'ms', label: 'full SQL analysis + all rules, one query ≤ 2 KB, CPU time p95', better: 'lower' },
    result_mismatches: { unit: 'count', label: 'calls where the rewrite returned different rows', better: 'lower' },
    proven_rewrites: { unit: 'count', label: 'rewrites proven (of 4: 2 queries × 2 index states)', better: 'higher' },
    proven_rewrites_own_index: { unit: 'count', label: 'latest-cells rewrite proven once its proposed index exists (of 1)', better: 'higher' },
  },
  ratios: {
    latest_noindex: { numerator: 'latest_naive_noindex_ms', denominator: 'latest_rewritten_noindex_ms', label: 'latest cells, no index: naive / rewritten' },
    filter_noindex: { numerator: 'filter_naive_noindex_ms', denominator: 'filter_rewritten_noindex_ms', label: 'three filters, no index: naive / rewritten' },
    latest_index: { numerator: 'latest_naive_index_ms', denominator: 'latest_rewritten_index_ms', label: 'latest cells, indexes: naive / rewritten' },
    filter_index: { numerator: 'filter_naive_index_ms', denominator: 'filter_rewritten_index_ms', label: 'three filters, indexes: naive / rewritten' },
    latest_total: { numerator: 'latest_naive_noindex_ms', denominator: 'latest_rewritten_index_ms', label: 'latest cells: naive without index / rewritten with the seed indexes (their order lacks the tie-breaker)' },
    latest_ownindex: { numerator: 'latest_naive_ownindex_ms', denominator: 'latest_rewritten_ownindex_ms', label: 'latest cells, both with the proposed index: naive / rewritten (what the rewrite adds to the index)' },
    latest_total_own_index: { numerator: 'latest_naive_noindex_ms', denominator: 'latest_rewritten_ownindex_ms', label: 'latest cells: naive without index / rewritten + its index, client-observed', target: '≥ 5× (issue: latest cells ≥ 5× faster)' },
    latest_index_alone: { numerator: 'latest_naive_noindex_ms', denominator: 'latest_naive_ownindex_ms', label: 'latest cells: naive without index / naive with the proposed index (the index alone), client-observed' },
    latest_total_own_index_server: { numerator: 'latest_naive_noindex_server_ms', denominator: 'latest_rewritten_ownindex_server_ms', label: 'latest cells: naive without index / rewritten + its index, server execution only' },
    latest_total_own_index_untyped: { numerator: 'latest_naive_noindex_untyped_ms', denominator: 'latest_rewritten_ownindex_untyped_ms', label: 'latest cells: naive without index / rewritten + its index, rows received but not decoded (the ceiling for any client)' },
    latest_ownindex_server: { numerator: 'latest_naive_ownindex_server_ms', denominator: 'latest_rewritten_ownindex_server_ms', label: 'latest cells, both with the proposed index: naive / rewritten, server execution only' },
    filter_total: { numerator: 'filter_naive_noindex_ms', denominator: 'filter_rewritten_index_ms', label: 'three filters: naive without index / rewrite + index', target: '≥ 5×' },
  },
  async setup(context) {
    const adminUrl = context.databaseUrl ?? DEFAULT_URL;
    const schema = `qopt_bench_rewrite_${randomBytes(3).toString('hex')}`;
    await admin(adminUrl, `CREATE SCHEMA ${schema}`);
    const url = new URL(adminUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const driver = await openDriver(url.toString(), { poolMax: 2 });
    const scale = context.quick ? 0.05 : 1;
    context.log(`rewrite: loading sheets at scale ${scale} into ${schema}`);
    const report = await loadWorkload(driver, sheetsWorkload, scale, quietProgress);
    context.log(`rewrite: loaded in ${report.seconds.toFixed(1)} s`);
    await driver.exec(`VACUUM ANALYZE ${sheetsWorkload.tables.join(', ')}`);
    const withoutIndexes = await preparePairs(driver, context, report.rows);
    context.log('rewrite: building the seed indexes');
    for (const statement of sheetsWorkload.seedIndexes) await driver.exec(statement);
    await driver.exec(`VACUUM ANALYZE ${sheetsWorkload.tables.join(', ')}`);
    // The rewrite's index proposal is priced with HypoPG (installed in its own schema, as the advisor bench does).
    const hypopgClient = new pg.Client({ connectionString: adminUrl });
    await hypopgClient.connect();
    try {
      context.log(`rewrite: HypoPG ${(await hypopgSchema(hypopgClient, true)) ? 'available' : 'not available: proposals are not priced'}`);
    } finally {
      await hypopgClient.end();
    }
    const withIndexes = await preparePairs(driver, context, report.rows);
    const proposal = withIndexes.find((pair) => pair.name === 'latest_cells')!.proposal;
    if (proposal.length === 0) throw new Error('the latest-cells rewrite proposed no index');
    const ownIndexes = proposal.map(candidateName);
    for (const index of proposal) {
      const statement = createIndexStatement(index, candidateName(index), false);
      context.log(`rewrite: building the proposed index: ${statement}`);
      await driver.exec(statement);
    }
    await driver.exec('VACUUM ANALYZE cells');
    const withOwnIndex = await preparePairs(driver, context, report.rows, ['latest_cells']);
    return { driver, schema, adminUrl, schemaUrl: url.toString(), withoutIndexes, withIndexes, withOwnIndex, ownIndexes, mismatches: 0 };
  },
  async measure(state) {
    const figures: Record<string, number> = {};
    const runPairs = async (session: DriverSession, pairs: Pair[], suffix: string) => {
      for (const pair of pairs) {
        const key = pair.name === 'latest_cells' ? 'latest' : 'filter';
        const naive: number[] = [];
        const rewritten: number[] = [];
        const naiveServer: number[] = [];
        const rewrittenServer: number[] = [];
        for (const params of pair.params) {
          const before = await timeMs(session, pair.sql, params);
          const after = await timeMs(session, pair.rewrite.sql, params);
          naive.push(before.ms);
          rewritten.push(after.ms);
          if (!sameBag(before.result, after.result).equal) state.mismatches += 1;
          if (key !== 'latest') continue;
          naiveServer.push(await serverMs(session, pair.sql, params));
          rewrittenServer.push(await serverMs(session, pair.rewrite.sql, params));
        }
        figures[`${key}_naive_${suffix}_ms`] = median(naive);
        figures[`${key}_rewritten_${suffix}_ms`] = median(rewritten);
        if (key !== 'latest') continue;
        figures[`latest_naive_${suffix}_server_ms`] = median(naiveServer);
        figures[`latest_rewritten_${suffix}_server_ms`] = median(rewrittenServer);
      }
    };
    // Each state drops what it must not have inside a transaction that is rolled back: no index at all; then the
    // seed indexes without the proposed one; then everything.
    await withoutIndexes(state.driver, [...SEED_INDEX_NAMES, ...state.ownIndexes], (session) => runPairs(session, state.withoutIndexes, 'noindex'));
    await withoutIndexes(state.driver, state.ownIndexes, (session) => runPairs(session, state.withIndexes, 'index'));
    await runPairs(state.driver, state.withOwnIndex, 'ownindex');
    const untyped = await untypedLatestPair(state.schemaUrl, state.withOwnIndex[0]!);
    figures.latest_naive_noindex_untyped_ms = untyped.naive;
    figures.latest_rewritten_ownindex_untyped_ms = untyped.rewritten;
    figures.result_mismatches = state.mismatches;
    figures.proven_rewrites = [...state.withoutIndexes, ...state.withIndexes].filter((pair) => pair.proven).length;
    figures.proven_rewrites_own_index = state.withOwnIndex.filter((pair) => pair.proven).length;
    const texts = sheetsWorkload.queries.map((query) => query.sql).filter((sql) => sql.length <= 2048);
    const percentile = (values: number[], share: number) => [...values].sort((a, b) => a - b)[Math.floor(values.length * share)]!;
    const timeAnalysis = (analyze: (text: string) => unknown) => {
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let index = 0; index < 400; index += 1) {
        const text = texts[index % texts.length]!;
        const started = performance.now();
        const cpuStarted = process.cpuUsage();
        analyze(text);
        const used = process.cpuUsage(cpuStarted);
        wall.push(performance.now() - started);
        cpu.push((used.user + used.system) / 1000);
      }
      return { wall, cpu };
    };
    const full = timeAnalysis((text) => findAntiPatterns(analyzeSqlUncached(text)));
    figures.analysis_p50_ms = percentile(full.wall, 0.5);
    figures.analysis_p95_ms = percentile(full.wall, 0.95);
    figures.analysis_cpu_p95_ms = percentile(full.cpu, 0.95);
    const parseAndRules = timeAnalysis((text) => findAntiPatternsInText(text));
    figures.parse_rules_p95_ms = percentile(parseAndRules.wall, 0.95);
    figures.parse_rules_cpu_p95_ms = percentile(parseAndRules.cpu, 0.95);
    return figures;
  },
  async teardown(state) {
    await state.driver.close();
    await admin(state.adminUrl, `DROP SCHEMA IF EXISTS ${state.schema} CASCADE`);
  },
};
