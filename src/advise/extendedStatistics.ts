import pg from 'pg';
import type { Driver } from '../db/driver.js';
import { PgDriver } from '../db/pgDriver.js';
import { analyzeSql } from '../sql/analyze.js';
import { quoteIdentifier, quoteQualified } from './indexCandidate.js';
import { tableAccesses } from './queryShape.js';
import type { AdvisorQuery } from './workload.js';

/**
 * Extended statistics that would correct the planner's row estimates for a workload's queries:
 * PostgreSQL multiplies the selectivities of `a = $1 AND b = $2` as if the columns were independent;
 * when one determines the other (a tab belongs to one sheet) the estimate is too small by the other's
 * number of distinct values, and the planner picks nested loops and the wrong indexes.
 */
export interface StatisticsRecommendation {
  name: string;
  table: string;
  columns: string[];
  /** `CREATE STATISTICS … (dependencies, ndistinct) ON … FROM …`. */
  definition: string;
  /** The functional-dependency degrees PostgreSQL computed (0–1), by `a => b`. */
  dependencies: Record<string, number>;
  /** The queries whose estimate it changes, with the planner's rows without and with it. */
  queries: Array<{ fingerprint: string; estimatedRowsBefore: number; estimatedRowsAfter: number }>;
}

/** A workload statement the advisor could not plan, left out with PostgreSQL's reason. */
export interface SkippedStatement {
  fingerprint: string;
  sql: string;
  reason: string;
}

/** The statistics advisor's answer: its recommendations and the statements it had to leave out. */
export interface StatisticsAdvice {
  recommendations: StatisticsRecommendation[];
  skipped: SkippedStatement[];
}

/** Thresholds of the statistics advisor. */
export interface StatisticsAdviceOptions {
  /** A dependency at least this strong (0–1) is worth telling the planner. */
  minDependency?: number;
  /** …when it moves some query's estimate by at least this factor. */
  minEstimateChange?: number;
  /** Bound on each probe statement. */
  statementTimeoutMs?: number;
}

const DEFAULTS = { minDependency: 0.8, minEstimateChange: 2, statementTimeoutMs: 30_000 };
const MAX_COLUMNS = 4;

interface Candidate {
  table: string;
  columns: string[];
  queries: AdvisorQuery[];
}

/** Tables whose equality-filtered columns come in groups of two or more in some query of the workload. */
function candidatesOf(workload: readonly AdvisorQuery[]): Candidate[] {
  const byKey = new Map<string, Candidate>();
  for (const query of workload) {
    const analysis = analyzeSql(query.sql);
    if (analysis.kind !== 'read') continue;
    for (const access of tableAccesses(analysis.statements.map((statement) => statement.ast))) {
      const columns = [...new Set(access.equality)].sort().slice(0, MAX_COLUMNS);
      if (columns.length < 2) continue;
      const key = `${access.table}(${columns.join(',')})`;
      const candidate = byKey.get(key) ?? { table: access.table, columns, queries: [] };
      if (!candidate.queries.includes(query)) candidate.queries.push(query);
      byKey.set(key, candidate);
    }
  }
  return [...byKey.values()];
}

function statisticsName(table: string, columns: readonly string[]): string {
  return `qopt_stat_${table.split('.').pop()}_${columns.join('_')}`.replace(/\W/g, '_').slice(0, 63);
}

/** `CREATE STATISTICS IF NOT EXISTS … ON … FROM …` for a table and columns. */
export function createStatisticsStatement(name: string, table: string, columns: readonly string[]): string {
  return `CREATE STATISTICS IF NOT EXISTS ${quoteIdentifier(name)} (dependencies, ndistinct) ON ${columns.map(quoteIdentifier).join(', ')} FROM ${quoteQualified(table)}`;
}

// PostgreSQL 15 prints dependencies as {"2 => 1": 1.000000, …} with attribute numbers.
function parseDependencies(text: string | null, names: ReadonlyMap<number, string>): Record<string, number> {
  if (!text) return {};
  const parsed = JSON.parse(text) as Record<string, number>;
  const named: Record<string, number> = {};
  for (const [key, degree] of Object.entries(parsed)) {
    const [from, to] = key.split('=>').map((part) => part.trim().split(',').map((number) => names.get(Number(number.trim())) ?? number.trim()).join(', '));
    named[`${from} => ${to}`] = degree;
  }
  return named;
}

/**
 * Which extended statistics the workload's multi-column equality filters need. Each candidate is
 * tried for real in a transaction that is rolled back (CREATE STATISTICS and ANALYZE are
 * transactional): PostgreSQL computes the dependency degrees and the queries are planned (generic
 * plans) without and with it. PostgreSQL only; reads nothing it keeps.
 */
export async function adviseStatistics(driver: Driver, workload: readonly AdvisorQuery[], options: StatisticsAdviceOptions = {}): Promise<StatisticsAdvice> {
  if (!(driver instanceof PgDriver)) return { recommendations: [], skipped: [] };
  const settings = {
    minDependency: options.minDependency ?? DEFAULTS.minDependency,
    minEstimateChange: options.minEstimateChange ?? DEFAULTS.minEstimateChange,
    statementTimeoutMs: options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
  };
  const candidates = candidatesOf(workload);
  if (candidates.length === 0) return { recommendations: [], skipped: [] };
  // A connection of its own: probes run in transactions that must not share a pooled session.
  const client = new pg.Client(driver.pool.options);
  await client.connect();
  const recommendations: StatisticsRecommendation[] = [];
  const skipped = new Map<string, SkippedStatement>();
  try {
    for (const candidate of candidates) {
      const recommendation = await probe(client, candidate, settings, skipped);
      if (recommendation) recommendations.push(recommendation);
    }
  } finally {
    await client.end();
  }
  return { recommendations, skipped: [...skipped.values()] };
}

let prepared = 0;

/** The planner's row estimate of a statement, or why PostgreSQL could not plan it. */
type RowEstimate = { ok: true; rows: number } | { ok: false; reason: string };

type ExplainRows = { 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> };

/**
 * The planner's row estimate of a query (its generic plan when it has parameters). A statement
 * PostgreSQL cannot plan (a parameter whose type it cannot determine, a timeout) is rolled back
 * to its savepoint, so the probe's transaction goes on with the other queries.
 */
async function generic(client: pg.Client, sql: string): Promise<RowEstimate> {
  const parameters = analyzeSql(sql).parameterCount;
  // Prepared statements outlive a rollback: each gets its own name, deallocated once the savepoint is settled.
  const statement = parameters === 0 ? null : `qopt_probe_${(prepared += 1)}`;
  let isPrepared = false;
  await client.query('SAVEPOINT qopt_probe_plan');
  try {
    let explain = `EXPLAIN (FORMAT JSON) ${sql}`;
    if (statement !== null) {
      await client.query(`PREPARE ${statement} AS ${sql}`);
      isPrepared = true;
      await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
      explain = `EXPLAIN (FORMAT JSON) EXECUTE ${statement}(${Array.from({ length: parameters }, () => 'NULL').join(', ')})`;
    }
    const rows = (await client.query<ExplainRows>(explain)).rows[0]!['QUERY PLAN'][0]!.Plan['Plan Rows'];
    await client.query('RELEASE SAVEPOINT qopt_probe_plan');
    return { ok: true, rows };
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT qopt_probe_plan');
    return { ok: false, reason: (error as Error).message };
  } finally {
    // Only a statement that exists is deallocated: a failing DEALLOCATE would abort the probe's transaction.
    if (isPrepared) await client.query(`DEALLOCATE ${statement!}`);
  }
}

/** One candidate tried in a rolled-back transaction; statements that cannot be planned are added to `skipped`. */
async function probe(client: pg.Client, candidate: Candidate, settings: typeof DEFAULTS, skipped: Map<string, SkippedStatement>): Promise<StatisticsRecommendation | null> {
  const name = statisticsName(candidate.table, candidate.columns);
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(settings.statementTimeoutMs))}`);
    const existing = await client.query(
      `SELECT 1 FROM pg_statistic_ext s JOIN pg_attribute a ON a.attrelid = s.stxrelid AND a.attnum = ANY (s.stxkeys)
       WHERE s.stxrelid = to_regclass($1) AND 'f' = ANY (s.stxkind) GROUP BY s.oid HAVING array_agg(a.attname::text ORDER BY a.attname) @> $2::text[]`,
      [candidate.table, candidate.columns],
    );
    if (existing.rowCount! > 0) return null;
    const before = new Map<AdvisorQuery, number>();
    for (const query of candidate.queries) {
      const estimate = await generic(client, query.sql);
      if (estimate.ok) before.set(query, estimate.rows);
      else skipped.set(query.fingerprint, { fingerprint: query.fingerprint, sql: query.sql, reason: estimate.reason });
    }
    if (before.size === 0) return null;
    await client.query(createStatisticsStatement(name, candidate.table, candidate.columns));
    await client.query(`ANALYZE ${quoteQualified(candidate.table)}`);
    const attributes = await client.query<{ attnum: number; attname: string }>('SELECT attnum, attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0', [candidate.table]);
    const names = new Map(attributes.rows.map((row) => [row.attnum, row.attname]));
    const stats = await client.query<{ dependencies: string | null }>(
      `SELECT d.stxddependencies::text AS dependencies FROM pg_statistic_ext s JOIN pg_statistic_ext_data d ON d.stxoid = s.oid WHERE s.stxname = $1`,
      [name],
    );
    const dependencies = parseDependencies(stats.rows[0]?.dependencies ?? null, names);
    const queries: StatisticsRecommendation['queries'] = [];
    for (const [query, estimatedRowsBefore] of before) {
      const after = await generic(client, query.sql);
      if (!after.ok) {
        skipped.set(query.fingerprint, { fingerprint: query.fingerprint, sql: query.sql, reason: after.reason });
        continue;
      }
      queries.push({ fingerprint: query.fingerprint, estimatedRowsBefore, estimatedRowsAfter: after.rows });
    }
    const strongest = Math.max(0, ...Object.values(dependencies));
    const moved = queries.some((query) => Math.max(query.estimatedRowsBefore, query.estimatedRowsAfter) / Math.max(1, Math.min(query.estimatedRowsBefore, query.estimatedRowsAfter)) >= settings.minEstimateChange);
    if (strongest < settings.minDependency || !moved) return null;
    return { name, table: candidate.table, columns: candidate.columns, definition: createStatisticsStatement(name, candidate.table, candidate.columns), dependencies, queries };
  } finally {
    await client.query('ROLLBACK');
  }
}

/** Creates recommended statistics and analyzes their tables so the planner uses them at once. */
export async function applyStatistics(driver: Driver, recommendations: readonly StatisticsRecommendation[]): Promise<string[]> {
  const applied: string[] = [];
  for (const recommendation of recommendations) {
    await driver.exec(recommendation.definition);
    await driver.exec(`ANALYZE ${quoteQualified(recommendation.table)}`);
    applied.push(recommendation.name);
  }
  return applied;
}
