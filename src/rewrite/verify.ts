import type { Catalog } from '../analyze/catalog.js';
import { costEstimate, improvementPercent } from '../analyze/cost.js';
import type { CostEstimate } from '../analyze/cost.js';
import type { Driver, QueryResultSet } from '../db/driver.js';
import { analyzeSql } from '../sql/analyze.js';
import type { AstNode } from '../sql/parser.js';
import { sameBag } from './bag.js';
import { createEdgeSchema } from './edgeData.js';
import type { RewriteCandidate } from './rewriter.js';

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
    super('rolled back on purpose: the edge-case schema must not outlive the check');
  }
}

type EdgeOutcome = { equal: boolean; rows: number; tables: Record<string, number>; reason?: string };

async function runBoth(run: (sql: string, params: readonly unknown[]) => Promise<QueryResultSet>, reference: { sql: string; params: readonly unknown[] }, candidate: RewriteCandidate) {
  const expected = await run(reference.sql, reference.params);
  const actual = await run(candidate.sql, candidate.params);
  const comparison = sameBag(expected, actual);
  return { equal: comparison.equal, rows: expected.rowCount, ...(comparison.equal ? {} : { reason: comparison.reason }) };
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
      outcome = { ...(await runBoth((sql, params) => session.query(sql, params), { sql: candidate.referenceSql, params: original.params }, candidate)), tables: edge.rows };
      throw new Rollback();
    });
  } catch (error) {
    if (outcome) return outcome;
    return { equal: false, rows: 0, tables: {}, reason: `edge-case check failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { equal: false, rows: 0, tables: {}, reason: 'edge-case check did not run' };
}

/**
 * Proves a rewrite or says why not: cheaper by the planner (cost ratio ≤ bound), the same bag of rows as the
 * original on the live data, and the same bag as the reference on generated data with NULLs, duplicates and ties.
 */
export async function verifyRewrite(driver: Driver, catalog: Catalog, original: { sql: string; params: readonly unknown[] }, candidate: RewriteCandidate, options: VerifyOptions): Promise<RewriteVerdict> {
  const before = costEstimate(await driver.explain(original.sql, original.params));
  let after: CostEstimate;
  try {
    after = costEstimate(await driver.explain(candidate.sql, candidate.params));
  } catch (error) {
    const reason = `the rewritten statement does not run: ${error instanceof Error ? error.message : String(error)}`;
    const none = { equal: false, rows: 0, reason };
    return { proven: false, reasons: [reason], before, after: before, costRatio: 1, improvementPercent: 0, live: none, edge: { ...none, tables: {} } };
  }
  const costRatio = before.totalCost > 0 ? after.totalCost / before.totalCost : 1;
  const reasons: string[] = [];
  if (costRatio > options.maxCostRatio) {
    // Cheap test first: a rewrite the planner prices too high is never applied, so its rows need not be compared
    // (running it could cost far more than the original).
    reasons.push(`not cheaper enough by the planner: cost ${after.totalCost.toFixed(0)} vs ${before.totalCost.toFixed(0)} (ratio ${costRatio.toFixed(2)} > ${options.maxCostRatio})`);
    const skipped = { equal: false, rows: 0, reason: 'not compared: the cost test failed' };
    return { proven: false, reasons, before, after, costRatio, improvementPercent: improvementPercent(before, after), live: skipped, edge: { ...skipped, tables: {} } };
  }
  const live = await runBoth((sql, params) => driver.query(sql, params), original, candidate);
  const edge = await edgeCheck(driver, catalog, original, candidate, options.seed ?? 1);
  if (!live.equal) reasons.push(`different rows on the live data: ${live.reason}`);
  if (!edge.equal) reasons.push(`different rows on generated edge-case data: ${edge.reason}`);
  if (edge.equal && edge.rows === 0 && live.rows === 0) reasons.push('no rows on either data set: equality is not shown');
  return { proven: reasons.length === 0, reasons, before, after, costRatio, improvementPercent: improvementPercent(before, after), live, edge };
}
