import type { Driver } from '../db/driver.js';
import { PgDriver } from '../db/pgDriver.js';
import { analyzeSql } from '../sql/analyze.js';
import { generateCandidates } from './candidates.js';
import { readTableStats, readWriteCounters } from './catalog.js';
import type { TableStats } from './catalog.js';
import { AdvisorError } from './errors.js';
import { adviseStatistics } from './extendedStatistics.js';
import type { SkippedStatement, StatisticsAdvice, StatisticsRecommendation } from './extendedStatistics.js';
import { HypopgEvaluator } from './hypopgEvaluator.js';
import { candidateName, candidateSignature, createIndexStatement, quoteQualified } from './indexCandidate.js';
import type { IndexCandidate } from './indexCandidate.js';
import { tableAccesses } from './queryShape.js';
import type { TableAccess } from './queryShape.js';
import { selectIndexes } from './selection.js';
import type { AdvisorBudget, SizedCandidate, WeightedQuery } from './selection.js';
import { estimateIndexBytes } from './sizeEstimate.js';
import { StatisticsEvaluator } from './statisticsEvaluator.js';
import type { WhatIfEvaluator } from './whatIf.js';
import type { AdvisorQuery } from './workload.js';

/** Options of one advisor run; every field has a documented default. */
export interface AdviseOptions {
  budget?: Partial<AdvisorBudget>;
  /** 'auto' uses HypoPG when it is there and falls back to the statistics-only model. */
  evaluator?: 'auto' | 'hypopg' | 'statistics';
  /** CREATE EXTENSION hypopg if it is available but not installed (default false). */
  installHypopg?: boolean;
  /** Per-EXPLAIN timeout of the what-if session (default 5000 ms). */
  statementTimeoutMs?: number;
  /** A chosen index must save at least this fraction of the workload (default 0.005). */
  minBenefitFraction?: number;
  /** Estimated cost of maintaining one index entry on a row write, in ms (default 0.02). */
  writeCostMsPerRow?: number;
  /** pg_stat_user_tables counters taken at the start of the workload window (`readWriteCounters`). */
  writeCountersAtStart?: ReadonlyMap<string, number>;
  /** Key columns of an ordinary composite (default 3) and of a window "latest" index (default 5). */
  maxKeyColumns?: number;
  maxWindowKeyColumns?: number;
  maxIncludeColumns?: number;
  /** Also try extended statistics for multi-column equality filters (default true; PostgreSQL only). */
  statistics?: boolean;
  /**
   * With a timed workload, run each read once under EXPLAIN ANALYZE (rolled back) to learn which share of
   * its time is server execution, the part a better plan shrinks (default true).
   */
  executionShares?: boolean;
}

/** A query's predicted cost before and after the recommendations. */
export interface QueryPrediction {
  /**
   * The share of the query's observed time spent executing on the server (EXPLAIN ANALYZE, TIMING OFF,
   * against the workload's time per call), 1 when unknown. Sending and decoding rows, network and
   * client time do not shrink with a better plan: `predictedGain` is the plan's gain times this share.
   */
  executionShare: number;
  fingerprint: string;
  name: string | null;
  sql: string;
  weight: number;
  costBefore: number;
  costAfter: number;
  /** 1 − after / before: the predicted fall of its time. */
  predictedGain: number;
}

/** One index the advisor recommends, with its evidence. */
export interface IndexRecommendation {
  name: string;
  table: string;
  candidate: IndexCandidate;
  /** `CREATE INDEX CONCURRENTLY …`. */
  definition: string;
  origin: string;
  /** Statistics-based estimate of the built size (bytes): what the budget counts. */
  estimatedBytes: number;
  /** HypoPG's own estimate, for comparison; null without HypoPG. */
  hypopgBytes: number | null;
  /** Predicted saving in weight units (ms when the workload has timings). */
  benefit: number;
  writeCost: number;
  /** Fingerprints of the queries it speeds up. */
  queries: string[];
}

/** The advisor's answer for a workload. */
export interface AdviceReport {
  evaluator: 'hypopg' | 'statistics';
  confidence: 'high' | 'low';
  /** 'ms' when the workload has timings, 'cost' when queries are weighted by planner cost. */
  weightUnit: 'ms' | 'cost';
  candidatesConsidered: number;
  recommendations: IndexRecommendation[];
  rejected: Array<{ definition: string; reason: string }>;
  queries: QueryPrediction[];
  workloadWeight: number;
  predictedWeight: number;
  /** 1 − predicted / current for the whole workload. */
  predictedGain: number;
  /**
   * Extended statistics that correct the planner's estimates for multi-column equality filters
   * (PostgreSQL only; tried in a rolled-back transaction). Not part of `predictedGain`, which is
   * the indexes' what-if.
   */
  statistics: StatisticsRecommendation[];
  /**
   * Workload statements the advisor could not plan (a parameter whose type PostgreSQL cannot
   * determine, a timeout), left out of the evaluation, with PostgreSQL's reason.
   */
  skipped: SkippedStatement[];
}

/** Without timings, weights are planner cost units: an index entry write costs about one random page touch. */
const WRITE_COST_UNITS_PER_ROW = 1;

const DEFAULTS = {
  maxIndexes: 10,
  maxWriteCostFraction: 0.25,
  statementTimeoutMs: 5000,
  minBenefitFraction: 0.005,
  writeCostMsPerRow: 0.02,
  maxKeyColumns: 3,
  maxWindowKeyColumns: 5,
  maxIncludeColumns: 5,
};

async function openEvaluator(driver: Driver, tables: ReadonlyMap<string, TableStats>, options: AdviseOptions): Promise<WhatIfEvaluator> {
  const wanted = options.evaluator ?? 'auto';
  if (wanted !== 'statistics' && driver instanceof PgDriver) {
    const connectionString = (driver.pool.options as { connectionString?: string }).connectionString;
    if (connectionString) {
      const hypopg = await HypopgEvaluator.open({
        connectionString,
        statementTimeoutMs: options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
        installExtension: options.installHypopg ?? false,
      });
      if (hypopg) return hypopg;
    }
  }
  if (wanted === 'hypopg') throw new AdvisorError('HypoPG is not available on this database (install postgresql-15-hypopg, then CREATE EXTENSION hypopg)');
  return new StatisticsEvaluator(tables);
}

async function partialSelectivity(driver: Driver, candidate: IndexCandidate, stats: TableStats): Promise<number> {
  if (!candidate.where || stats.rows <= 0) return 1;
  try {
    const plan = await driver.explain(`SELECT 1 FROM ${quoteQualified(candidate.table)} WHERE ${candidate.where}`);
    return Math.min(1, Math.max(0, plan.plan['Plan Rows'] / stats.rows));
  } catch {
    // A predicate the planner rejects leaves the estimate at full size: over-counting is the safe side of a budget.
    return 1;
  }
}

/** Whether an existing plain index already leads with the candidate's keys (so building it would add nothing). */
function sameAsExisting(candidate: IndexCandidate, stats: TableStats): boolean {
  if (candidate.where !== null || candidate.include.length > 0 || candidate.method !== 'btree') return false;
  return stats.existingIndexes.some(
    (index) => index.where === null && index.keys.length >= candidate.keys.length && candidate.keys.every((key, position) => index.keys[position]?.replace(/^\((.*)\)$/, '$1') === key.text),
  );
}

/** Estimated row writes per table in the window: the workload's write statements plus the counter delta. */
async function writesPerTable(driver: Driver, writes: readonly AdvisorQuery[], tables: ReadonlyMap<string, TableStats>, options: AdviseOptions): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  for (const query of writes) {
    for (const table of analyzeSql(query.sql).writeTables) result.set(table, (result.get(table) ?? 0) + query.calls);
  }
  if (options.writeCountersAtStart) {
    const now = await readWriteCounters(driver);
    for (const [name, stats] of tables) {
      const before = options.writeCountersAtStart.get(String(stats.oid));
      const after = now.get(String(stats.oid));
      if (before !== undefined && after !== undefined) result.set(name, Math.max(result.get(name) ?? 0, after - before));
    }
  }
  return result;
}

// Samples per query run under EXPLAIN ANALYZE to learn its execution share.
const SHARE_SAMPLES = 3;

/** Per timed read: server execution time per call / observed time per call (0–1). */
async function executionShares(driver: Driver, queries: readonly AdvisorQuery[]): Promise<Map<AdvisorQuery, number>> {
  const shares = new Map<AdvisorQuery, number>();
  for (const query of queries) {
    if (query.totalMs === null || query.totalMs <= 0 || query.calls <= 0 || analyzeSql(query.sql).kind !== 'read') continue;
    const samples = query.paramSamples.length > 0 ? query.paramSamples.slice(0, SHARE_SAMPLES) : analyzeSql(query.sql).parameterCount === 0 ? [[]] : [];
    if (samples.length === 0) continue;
    try {
      let executionMs = 0;
      for (const params of samples) executionMs += (await driver.explain(query.sql, params, { analyze: true, timing: false })).executionTimeMs ?? Number.NaN;
      const share = executionMs / samples.length / (query.totalMs / query.calls);
      if (Number.isFinite(share) && share > 0) shares.set(query, Math.min(1, share));
    } catch {
      // A query that cannot run again here (a dropped table, a timeout) keeps the plan's gain as its prediction.
    }
  }
  return shares;
}

/**
 * The index advisor: candidates from the workload's predicates, joins, ORDER BY, GROUP BY and
 * windows; what-if costs from HypoPG (or the statistics model); whole-workload greedy selection
 * under size, count and write budgets. Reads only: nothing is created.
 */
export async function adviseIndexes(driver: Driver, workload: readonly AdvisorQuery[], options: AdviseOptions = {}): Promise<AdviceReport> {
  const budget: AdvisorBudget = {
    maxBytes: options.budget?.maxBytes ?? null,
    maxIndexes: options.budget?.maxIndexes ?? DEFAULTS.maxIndexes,
    maxWriteCostFraction: options.budget?.maxWriteCostFraction ?? DEFAULTS.maxWriteCostFraction,
  };
  const reads: Array<{ query: AdvisorQuery; accesses: TableAccess[]; tables: Set<string> }> = [];
  const writes: AdvisorQuery[] = [];
  for (const query of workload) {
    const analysis = analyzeSql(query.sql);
    if (analysis.kind === 'write') writes.push(query);
    const accesses = tableAccesses(analysis.statements.map((statement) => statement.ast));
    if (analysis.kind === 'read' || analysis.kind === 'write') reads.push({ query, accesses, tables: new Set(accesses.map((access) => access.table)) });
  }
  const tables = new Map<string, TableStats>();
  for (const name of new Set([...reads.flatMap((read) => [...read.tables]), ...writes.flatMap((write) => analyzeSql(write.sql).writeTables)])) {
    const stats = await readTableStats(driver, name);
    if (stats) tables.set(name, stats);
  }
  const trigram = driver.dialect === 'postgres' && (await driver.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).rowCount > 0;
  const candidates = generateCandidates(
    reads.flatMap((read) => read.accesses),
    {
      maxKeyColumns: options.maxKeyColumns ?? DEFAULTS.maxKeyColumns,
      maxWindowKeyColumns: options.maxWindowKeyColumns ?? DEFAULTS.maxWindowKeyColumns,
      maxIncludeColumns: options.maxIncludeColumns ?? DEFAULTS.maxIncludeColumns,
      trigram,
      columnsOf: (table) => (tables.has(table) ? new Set(tables.get(table)!.columns.keys()) : undefined),
    },
  ).filter((candidate) => !sameAsExisting(candidate, tables.get(candidate.table)!));

  const evaluator = await openEvaluator(driver, tables, options);
  try {
    const weighted: WeightedQuery[] = [];
    const skipped = new Map<string, SkippedStatement>();
    const timed = workload.some((query) => query.totalMs !== null);
    for (const read of reads) {
      if (analyzeSql(read.query.sql).kind !== 'read' && read.accesses.length === 0) continue;
      const baselineCost = await evaluator.cost(read.query, []);
      if (baselineCost === null) {
        const reason = evaluator.planningFailure(read.query) ?? 'the planner could not plan it';
        skipped.set(read.query.fingerprint, { fingerprint: read.query.fingerprint, sql: read.query.sql, reason });
      }
      if (baselineCost === null || baselineCost <= 0) continue;
      const weight = timed ? (read.query.totalMs ?? 0) : read.query.calls * baselineCost;
      weighted.push({ query: read.query, weight, baselineCost, tables: read.tables });
    }
    const totalWeight = weighted.reduce((sum, query) => sum + query.weight, 0);
    const rowWrites = await writesPerTable(driver, writes, tables, options);
    const writeCostPerRow = options.writeCostMsPerRow ?? DEFAULTS.writeCostMsPerRow;
    const sized: SizedCandidate[] = [];
    for (const candidate of candidates) {
      const stats = tables.get(candidate.table)!;
      const selectivity = await partialSelectivity(driver, candidate, stats);
      const perRow = timed ? writeCostPerRow : WRITE_COST_UNITS_PER_ROW;
      sized.push({
        candidate,
        signature: candidateSignature(candidate),
        bytes: estimateIndexBytes(candidate, stats, selectivity),
        writeCost: (rowWrites.get(candidate.table) ?? 0) * selectivity * perRow,
      });
    }
    const minBenefit = (options.minBenefitFraction ?? DEFAULTS.minBenefitFraction) * totalWeight;
    const selection = await selectIndexes(evaluator, weighted, sized, budget, minBenefit, totalWeight);
    const recommendations: IndexRecommendation[] = [];
    for (const chosen of selection.selected) {
      const name = candidateName(chosen.candidate);
      recommendations.push({
        name,
        table: chosen.candidate.table,
        candidate: chosen.candidate,
        definition: createIndexStatement(chosen.candidate, name, true),
        origin: chosen.candidate.origin,
        estimatedBytes: chosen.bytes,
        hypopgBytes: await evaluator.hypotheticalBytes(chosen.candidate),
        benefit: chosen.benefit,
        writeCost: chosen.writeCost,
        queries: weighted
          .filter((query) => query.tables.has(chosen.candidate.table) && selection.finalCosts.get(query.query)! < query.baselineCost * 0.99)
          .map((query) => query.query.fingerprint),
      });
    }
    const bySignature = new Map(sized.map((entry) => [entry.signature, entry.candidate]));
    const shares = timed && options.executionShares !== false ? await executionShares(driver, weighted.map((query) => query.query)) : new Map<AdvisorQuery, number>();
    const queries: QueryPrediction[] = weighted.map((query) => {
      const after = selection.finalCosts.get(query.query) ?? query.baselineCost;
      const executionShare = shares.get(query.query) ?? 1;
      return {
        fingerprint: query.query.fingerprint,
        name: query.query.name,
        sql: query.query.sql,
        weight: query.weight,
        costBefore: query.baselineCost,
        costAfter: after,
        executionShare,
        predictedGain: (1 - after / query.baselineCost) * executionShare,
      };
    });
    const predictedWeight = queries.reduce((sum, query) => sum + query.weight * (1 - query.predictedGain), 0);
    const statistics: StatisticsAdvice = options.statistics === false ? { recommendations: [], skipped: [] } : await adviseStatistics(driver, workload, { statementTimeoutMs: options.statementTimeoutMs });
    for (const statement of statistics.skipped) if (!skipped.has(statement.fingerprint)) skipped.set(statement.fingerprint, statement);
    return {
      evaluator: evaluator.kind,
      confidence: evaluator.confidence,
      weightUnit: timed ? 'ms' : 'cost',
      candidatesConsidered: candidates.length,
      recommendations,
      rejected: selection.rejected.map(({ signature, reason }) => {
        const candidate = bySignature.get(signature)!;
        return { definition: createIndexStatement(candidate, candidateName(candidate), true), reason };
      }),
      queries,
      workloadWeight: totalWeight,
      predictedWeight,
      predictedGain: totalWeight > 0 ? 1 - predictedWeight / totalWeight : 0,
      statistics: statistics.recommendations,
      skipped: [...skipped.values()],
    };
  } finally {
    await evaluator.close();
  }
}
