import { candidateName, createIndexStatement } from '../advise/indexCandidate.js';
import type { IndexCandidate } from '../advise/indexCandidate.js';
import type { Catalog } from '../analyze/catalog.js';
import { costEstimate, improvementPercent } from '../analyze/cost.js';
import type { CostEstimate } from '../analyze/cost.js';
import type { Driver, DriverSession, QueryResultSet } from '../db/driver.js';
import { analyzeSql } from '../sql/analyze.js';
import type { AstNode } from '../sql/parser.js';
import { sameBag } from './bag.js';
import { createEdgeSchema } from './edgeData.js';
import { hypotheticalCost } from './hypotheticalCost.js';
import type { RewriteCandidate } from './rewriter.js';

/** What the rewrite would cost with the indexes it proposes, and whether it is proven once they exist. */
export interface SupportingIndexVerdict {
  /** `CREATE INDEX CONCURRENTLY …` for each proposed index: the user applies them, qopt never does. */
  statements: string[];
  /** The planner's estimates of the original and of the rewrite, both with the indexes (HypoPG); null when it could not be asked (see `reason`). */
  before: CostEstimate | null;
  after: CostEstimate | null;
  /** `after / before`, both with the indexes: the cost test the rewrite must pass once they exist (HypoPG's estimate of it). */
  costRatio: number | null;
  /** The rewrite with the indexes against the original as it runs today (without them): what applying both buys. */
  costRatioToToday: number | null;
  /** Cheaper enough with the indexes and the same rows on the data compared: once they exist, re-verify and it applies. */
  provenWithIndexes: boolean;
  reason?: string;
}

/** The proof (or disproof) of one rewrite: planner cost, and equal rows on live and on generated data. */
export interface RewriteVerdict {
  proven: boolean;
  /** Why it is not proven (empty when proven). */
  reasons: string[];
  before: CostEstimate;
  after: CostEstimate;
  costRatio: number;
  improvementPercent: number;
  live: { equal: boolean; rows: number; reason?: string };
  edge: { equal: boolean; rows: number; tables: Record<string, number>; reason?: string };
  /** The verdict with the rewrite's proposed indexes; null when it proposes none. */
  supportingIndexes: SupportingIndexVerdict | null;
}

/** Options of the proof. */
export interface VerifyOptions {
  /** The rewrite must cost at most this fraction of the original (config `optimization.maxRewriteCostRatio`). */
  maxCostRatio: number;
  /** Seed of the edge-case data generator. */
  seed?: number;
}

/** Thrown to end the edge-case transaction with a ROLLBACK once the comparison is done. */
class Rollback extends Error {
  constructor() {
    super('rolled back on purpose: the edge-case tables must not outlive the check');
  }
}

type EdgeOutcome = { equal: boolean; rows: number; tables: Record<string, number>; reason?: string };

async function runBoth(run: (sql: string, params: readonly unknown[]) => Promise<QueryResultSet>, reference: { sql: string; params: readonly unknown[] }, candidate: RewriteCandidate) {
  const expected = await run(reference.sql, reference.params);
  const actual = await run(candidate.sql, candidate.params);
  const comparison = sameBag(expected, actual);
  return { equal: comparison.equal, rows: expected.rowCount, ...(comparison.equal ? {} : { reason: comparison.reason }) };
}

/** Builds the rewrite's proposed indexes on the (small) edge-case copies; true when there were any. */
async function buildEdgeIndexes(session: DriverSession, indexes: readonly IndexCandidate[]): Promise<boolean> {
  for (const index of indexes) {
    const table = index.table.slice(index.table.lastIndexOf('.') + 1);
    await session.query(createIndexStatement({ ...index, table }, candidateName(index), false));
  }
  return indexes.length > 0;
}

/** Runs reference and rewrite on generated edge-case copies of the tables, in a transaction that is rolled back. */
async function edgeCheck(driver: Driver, catalog: Catalog, original: { sql: string; params: readonly unknown[] }, candidate: RewriteCandidate, seed: number): Promise<EdgeOutcome> {
  const analysis = analyzeSql(original.sql);
  if (analysis.tables.some((table) => table.schema !== null)) return { equal: false, rows: 0, tables: {}, reason: 'the statement names a schema, so it cannot be pointed at generated data' };
  let outcome: EdgeOutcome | undefined;
  try {
    await driver.transaction(async (session) => {
      const edge = await createEdgeSchema(session, catalog, analysis.statements[0]!.ast as AstNode, original.params, seed);
      await session.query(`SET LOCAL search_path TO ${edge.name}`);
      if (await buildEdgeIndexes(session, candidate.supportingIndexes ?? [])) {
        // Steer both statements onto the proposed indexes, so the rows compared are the rows of the plan they enable.
        await session.query('SET LOCAL enable_seqscan = off');
        await session.query('SET LOCAL enable_sort = off');
      }
      outcome = { ...(await runBoth((sql, params) => session.query(sql, params), { sql: candidate.referenceSql, params: original.params }, candidate)), tables: edge.rows };
      throw new Rollback();
    });
  } catch (error) {
    if (outcome) return outcome;
    return { equal: false, rows: 0, tables: {}, reason: `edge-case check failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { equal: false, rows: 0, tables: {}, reason: 'edge-case check did not run' };
}

/** The cost test with the candidate's proposed indexes (HypoPG), or null when it proposes none. */
async function supportingCost(driver: Driver, original: { sql: string; params: readonly unknown[] }, today: CostEstimate, candidate: RewriteCandidate, maxCostRatio: number): Promise<{ verdict: SupportingIndexVerdict; cheapEnough: boolean } | null> {
  const indexes = candidate.supportingIndexes ?? [];
  if (indexes.length === 0) return null;
  const statements = indexes.map((index) => createIndexStatement(index, candidateName(index), true));
  // The original is priced with the indexes too: once they exist it may use them as well, and the proof then compares both.
  const what = await hypotheticalCost(driver, [original, candidate], indexes);
  if (!what.ok) return { cheapEnough: false, verdict: { statements, before: null, after: null, costRatio: null, costRatioToToday: null, provenWithIndexes: false, reason: what.reason } };
  const [before, after] = what.costs as [CostEstimate, CostEstimate];
  const costRatioToToday = today.totalCost > 0 ? after.totalCost / today.totalCost : 1;
  const costRatio = before.totalCost > 0 ? after.totalCost / before.totalCost : 1;
  const cheapEnough = costRatio <= maxCostRatio;
  const reason = `with the proposed index on both sides the rewrite is not cheaper enough (HypoPG estimate: ratio ${costRatio.toFixed(3)} > ${maxCostRatio})`;
  return { cheapEnough, verdict: { statements, before, after, costRatio, costRatioToToday, provenWithIndexes: false, ...(cheapEnough ? {} : { reason }) } };
}

/**
 * Proves a rewrite or says why not: cheaper by the planner (cost ratio ≤ bound), the same bag of rows as the
 * original on the live data, and the same bag as the reference on generated data with NULLs, duplicates and ties.
 * A rewrite that proposes supporting indexes is also priced with them (HypoPG); when only they make it cheaper
 * enough, it is not proven (it would be slower today) but `supportingIndexes.provenWithIndexes` says that it
 * will be once they exist — the rows are compared on edge-case data with the indexes built.
 */
export async function verifyRewrite(driver: Driver, catalog: Catalog, original: { sql: string; params: readonly unknown[] }, candidate: RewriteCandidate, options: VerifyOptions): Promise<RewriteVerdict> {
  const before = costEstimate(await driver.explain(original.sql, original.params));
  let after: CostEstimate;
  try {
    after = costEstimate(await driver.explain(candidate.sql, candidate.params));
  } catch (error) {
    const reason = `the rewritten statement does not run: ${error instanceof Error ? error.message : String(error)}`;
    const none = { equal: false, rows: 0, reason };
    return { proven: false, reasons: [reason], before, after: before, costRatio: 1, improvementPercent: 0, live: none, edge: { ...none, tables: {} }, supportingIndexes: null };
  }
  const costRatio = before.totalCost > 0 ? after.totalCost / before.totalCost : 1;
  const measured = { before, after, costRatio, improvementPercent: improvementPercent(before, after) };
  const supporting = await supportingCost(driver, original, before, candidate, options.maxCostRatio);
  const cheapWithIndexes = supporting?.cheapEnough ?? false;
  const reasons: string[] = [];
  const cheapNow = costRatio <= options.maxCostRatio;
  if (!cheapNow) {
    const withIndexes = cheapWithIndexes ? `; with its proposed index the ratio is ${supporting!.verdict.costRatio!.toFixed(2)}: create it, then verify again` : '';
    reasons.push(`not cheaper enough by the planner: cost ${after.totalCost.toFixed(0)} vs ${before.totalCost.toFixed(0)} (ratio ${costRatio.toFixed(2)} > ${options.maxCostRatio})${withIndexes}`);
  }
  if (!cheapNow && !cheapWithIndexes) {
    // Cheap test first: a rewrite the planner prices too high is never applied, so its rows need not be compared
    // (running it could cost far more than the original).
    const skipped = { equal: false, rows: 0, reason: 'not compared: the cost test failed' };
    return { proven: false, reasons, ...measured, live: skipped, edge: { ...skipped, tables: {} }, supportingIndexes: supporting?.verdict ?? null };
  }
  // Without its index a rewrite priced above the original could run far longer than it (a LATERAL probe per group
  // over a sequential scan): it is compared on edge-case data only, and in full once the index exists.
  const liveSkipped = !cheapNow && costRatio > 1;
  const live = liveSkipped ? { equal: false, rows: 0, reason: 'not compared on live data: without its proposed index the rewrite is priced above the original' } : await runBoth((sql, params) => driver.query(sql, params), original, candidate);
  const edge = await edgeCheck(driver, catalog, original, candidate, options.seed ?? 1);
  const rowReasons: string[] = [];
  if (!liveSkipped && !live.equal) rowReasons.push(`different rows on the live data: ${live.reason}`);
  if (!edge.equal) rowReasons.push(`different rows on generated edge-case data: ${edge.reason}`);
  if (edge.equal && edge.rows === 0 && live.rows === 0) rowReasons.push('no rows on either data set: equality is not shown');
  reasons.push(...rowReasons);
  const verdictOfIndexes = supporting ? { ...supporting.verdict, provenWithIndexes: cheapWithIndexes && rowReasons.length === 0 } : null;
  return { proven: cheapNow && reasons.length === 0, reasons, ...measured, live, edge, supportingIndexes: verdictOfIndexes };
}
