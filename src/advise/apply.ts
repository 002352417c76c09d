import pg from 'pg';
import type { Driver } from '../db/driver.js';
import { planNodes } from '../db/explain.js';
import type { PgDriver } from '../db/pgDriver.js';
import { analyzeSql } from '../sql/analyze.js';
import { applyStatistics } from './extendedStatistics.js';
import type { AdviceReport, IndexRecommendation } from './advisor.js';
import { IndexApplyError } from './errors.js';
import { DEFAULT_HISTORY_TABLE, ensureHistoryTable, recordHistory } from './history.js';
import { quoteIdentifier, quoteQualified } from './indexCandidate.js';
import type { AdvisorQuery } from './workload.js';

/** Options of applying recommendations. */
export interface ApplyOptions {
  /** lock_timeout of CREATE / DROP INDEX CONCURRENTLY (default 5000 ms). */
  lockTimeoutMs?: number;
  /** Further attempts after a lock timeout (default 2). */
  lockRetries?: number;
  /** An index whose queries got less than this much faster is dropped again (default 0.10). */
  minGain?: number;
  /** An index is dropped if any query on its table got more than this much slower (default 0.10). */
  maxRegression?: number;
  /** Timed executions of each parameter sample when measuring (median kept; default 3). */
  repetitions?: number;
  historyTable?: string;
  /** Measured time per fingerprint before applying (ms); measured now when absent. */
  baseline?: ReadonlyMap<string, number>;
  log?: (message: string) => void;
}

/** What happened to one recommendation. */
export interface AppliedIndex {
  name: string;
  definition: string;
  status: 'kept' | 'dropped' | 'failed';
  reason: string;
  /** Measured time of its queries before and after (ms), and the gain. */
  beforeMs: number;
  afterMs: number;
  measuredGain: number;
  realBytes: number | null;
}

/** The outcome of an apply run. */
export interface ApplyReport {
  applied: AppliedIndex[];
  /** Extended statistics created (and their tables analyzed) before the indexes were tried. */
  statistics: string[];
  /** Measured time per fingerprint at the end (ms). */
  finalTimes: Map<string, number>;
  baselineTimes: Map<string, number>;
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Validation measures each query for at least this long, so fast queries are not judged on noise. */
const MIN_MEASURE_MS = 50;

/** A slowdown smaller than this per pass is within timer and scheduling noise on a busy host: not a regression. */
const NOISE_FLOOR_MS = 1;

/**
 * Lock timeout (55P03) and deadlock (40P01): a concurrent build waits for every older snapshot in the
 * database and can deadlock with another session's concurrent build; both are worth another attempt.
 */
const RETRYABLE = new Set(['55P03', '40P01']);

/** Most passes `measureQuery` makes to reach its minimum measuring time. */
const MAX_PASSES = 200;

/**
 * The median time (ms) of one pass through a query's parameter samples (or its literal text once):
 * at least `repetitions` passes, and more until `minTotalMs` has been spent measuring, so a
 * sub-millisecond query is judged on many passes instead of one noisy one.
 */
export async function measureQuery(driver: Driver, query: AdvisorQuery, repetitions: number, minTotalMs = 0): Promise<number> {
  const samples = query.paramSamples.length > 0 ? query.paramSamples : [[]];
  const totals: number[] = [];
  let spent = 0;
  while (totals.length < repetitions || (spent < minTotalMs && totals.length < MAX_PASSES)) {
    let total = 0;
    for (const params of samples) {
      const started = performance.now();
      await driver.query(query.sql, params);
      total += performance.now() - started;
    }
    totals.push(total);
    spent += total;
  }
  return medianOf(totals);
}

/** Whether the plan of any of the query's samples uses the named index. */
async function planUses(driver: Driver, query: AdvisorQuery, indexName: string): Promise<boolean> {
  for (const params of query.paramSamples.length > 0 ? query.paramSamples : [[]]) {
    const explained = await driver.explain(query.sql, params);
    for (const node of planNodes(explained.plan)) if (node['Index Name'] === indexName) return true;
  }
  return false;
}

function executable(query: AdvisorQuery): boolean {
  return query.paramSamples.length > 0 || !/\$\d/.test(query.sql);
}

async function dedicatedClient(driver: PgDriver, lockTimeoutMs: number): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: (driver.pool.options as { connectionString?: string }).connectionString });
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`SET lock_timeout = ${Math.round(lockTimeoutMs)}`);
  return client;
}

/**
 * CREATE INDEX CONCURRENTLY, retried after a lock timeout (it waits for every older snapshot in the
 * database). A failed build leaves an INVALID index that still slows every write: it is dropped
 * before the next attempt; if even that cannot get its lock, `cleanInvalidIndexes` removes it later.
 */
async function createWithRetries(client: pg.Client, definition: string, name: string, retries: number): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await client.query(definition);
      return;
    } catch (error) {
      if (await indexIsInvalid(client, name)) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdentifier(name)}`);
      if (!RETRYABLE.has((error as { code?: string }).code ?? '') || attempt >= retries) throw error;
    }
  }
}

async function indexIsInvalid(client: pg.Client, name: string): Promise<boolean> {
  const result = await client.query<{ valid: boolean }>('SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = to_regclass($1)', [name]);
  return result.rows.length > 0 && !result.rows[0]!.valid;
}

/** Drops every invalid index whose name starts with `qopt_` (leftovers of interrupted concurrent builds). */
export async function cleanInvalidIndexes(driver: PgDriver, lockTimeoutMs = 5000, historyTable = DEFAULT_HISTORY_TABLE): Promise<string[]> {
  const client = await dedicatedClient(driver, lockTimeoutMs);
  try {
    const invalid = await client.query<{ name: string; table: string }>(
      `SELECT c.oid::regclass::text AS name, i.indrelid::regclass::text AS table FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE NOT i.indisvalid AND c.relname LIKE 'qopt\\_%' AND pg_table_is_visible(c.oid)`,
    );
    for (const row of invalid.rows) {
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${row.name}`);
      await ensureHistoryTable(driver, historyTable);
      await recordHistory(driver, { action: 'cleaned', indexName: row.name, table: row.table, definition: '', evidence: { reason: 'invalid leftover of an interrupted build' } }, historyTable);
    }
    return invalid.rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

/**
 * Applies recommendations one at a time: `CREATE INDEX CONCURRENTLY` under a lock timeout (an
 * invalid leftover of a failed build is dropped), then measures the index's queries against the
 * baseline; an index that gained less than `minGain`, or made any query on its table slower by
 * more than `maxRegression`, is dropped `CONCURRENTLY` again. Every step goes to the history table.
 */
export async function applyRecommendations(driver: PgDriver, report: AdviceReport, workload: readonly AdvisorQuery[], options: ApplyOptions = {}): Promise<ApplyReport> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  const minGain = options.minGain ?? 0.1;
  const maxRegression = options.maxRegression ?? 0.1;
  const repetitions = options.repetitions ?? 3;
  const historyTable = options.historyTable ?? DEFAULT_HISTORY_TABLE;
  const log = options.log ?? (() => undefined);
  await ensureHistoryTable(driver, historyTable);
  const measurable = workload.filter(executable);
  const current = new Map<string, number>();
  for (const query of measurable) {
    current.set(query.fingerprint, options.baseline?.get(query.fingerprint) ?? (await measureQuery(driver, query, repetitions, MIN_MEASURE_MS)));
  }
  const baselineTimes = new Map(current);
  // Statistics first: each index is then judged on plans made with the corrected estimates.
  const statistics = await applyStatistics(driver, report.statistics);
  for (const name of statistics) log(`created statistics ${name} and analyzed its table`);
  const applied: AppliedIndex[] = [];
  const client = await dedicatedClient(driver, lockTimeoutMs);
  try {
    for (const recommendation of report.recommendations) {
      applied.push(await applyOne(driver, client, recommendation, measurable, current, { lockRetries: options.lockRetries ?? 2, minGain, maxRegression, repetitions, historyTable, log }));
    }
  } finally {
    await client.end();
  }
  return { applied, statistics, finalTimes: current, baselineTimes };
}

interface StepOptions {
  lockRetries: number;
  minGain: number;
  maxRegression: number;
  repetitions: number;
  historyTable: string;
  log: (message: string) => void;
}

async function applyOne(
  driver: PgDriver,
  client: pg.Client,
  recommendation: IndexRecommendation,
  measurable: readonly AdvisorQuery[],
  current: Map<string, number>,
  options: StepOptions,
): Promise<AppliedIndex> {
  const { name, table, definition } = recommendation;
  options.log(`creating ${name}`);
  try {
    await createWithRetries(client, definition, name, options.lockRetries);
  } catch (error) {
    const reason = (error as Error).message;
    await recordHistory(driver, { action: 'failed', indexName: name, table, definition, evidence: { error: reason } }, options.historyTable);
    if (RETRYABLE.has((error as { code?: string }).code ?? '')) {
      return { name, definition, status: 'failed', reason: `gave up after retries: ${reason}`, beforeMs: 0, afterMs: 0, measuredGain: 0, realBytes: null };
    }
    throw new IndexApplyError(name, reason, { cause: error });
  }
  if (recommendation.candidate.keys.some((key) => key.expression)) await client.query(`ANALYZE ${quoteQualified(table)}`);
  const size = await client.query<{ bytes: string }>('SELECT pg_relation_size(to_regclass($1))::text AS bytes', [name]);
  const realBytes = Number(size.rows[0]?.bytes ?? 0);
  const onTable = measurable.filter((query) => analyzeSql(query.sql).readTables.includes(table));
  const measurableOwn = recommendation.queries.some((fingerprint) => measurable.some((query) => query.fingerprint === fingerprint));
  if (!measurableOwn && onTable.length === 0) {
    // Its queries have `$n` parameters and no samples (pg_stat_statements): they cannot be timed, so keep it, unvalidated, and say so.
    const reason = 'kept unvalidated: its queries have no parameter samples to time';
    await recordHistory(driver, { action: 'kept', indexName: name, table, definition, evidence: { reason, realBytes } }, options.historyTable);
    return { name, definition, status: 'kept', reason, beforeMs: 0, afterMs: 0, measuredGain: 0, realBytes };
  }
  // Judge the index by the queries whose plans now use it: the others cannot have gained or lost by it.
  const judged: AdvisorQuery[] = [];
  for (const query of onTable) if (await planUses(driver, query, name)) judged.push(query);
  const after = new Map<string, number>();
  for (const query of judged) after.set(query.fingerprint, await measureQuery(driver, query, options.repetitions, MIN_MEASURE_MS));
  const beforeMs = judged.reduce((sum, query) => sum + current.get(query.fingerprint)!, 0);
  const afterMs = judged.reduce((sum, query) => sum + after.get(query.fingerprint)!, 0);
  const measuredGain = beforeMs > 0 ? 1 - afterMs / beforeMs : 0;
  const regressed: AdvisorQuery[] = [];
  const slower = (query: AdvisorQuery, ms: number) => ms > current.get(query.fingerprint)! * (1 + options.maxRegression) && ms - current.get(query.fingerprint)! > NOISE_FLOOR_MS;
  for (const query of judged) {
    if (!slower(query, after.get(query.fingerprint)!)) continue;
    // Confirm a slowdown by measuring again: one noisy sample must not drop a good index.
    const again = await measureQuery(driver, query, options.repetitions, MIN_MEASURE_MS);
    after.set(query.fingerprint, Math.min(again, after.get(query.fingerprint)!));
    if (slower(query, again)) regressed.push(query);
  }
  const evidence = {
    predictedBenefit: recommendation.benefit,
    estimatedBytes: recommendation.estimatedBytes,
    realBytes,
    beforeMs,
    afterMs,
    measuredGain,
    queries: judged.map((query) => ({ fingerprint: query.fingerprint, name: query.name, beforeMs: current.get(query.fingerprint), afterMs: after.get(query.fingerprint) })),
  };
  await recordHistory(driver, { action: 'created', indexName: name, table, definition, evidence }, options.historyTable);
  let reason = '';
  if (judged.length === 0) reason = 'no measured query uses it in its plan';
  else if (measuredGain < options.minGain) reason = `measured gain ${(measuredGain * 100).toFixed(1)} % is below ${(options.minGain * 100).toFixed(0)} %`;
  else if (regressed.length > 0) reason = `${regressed.map((query) => query.name ?? query.fingerprint).join(', ')} got more than ${(options.maxRegression * 100).toFixed(0)} % slower`;
  if (reason) {
    options.log(`dropping ${name}: ${reason}`);
    await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdentifier(name)}`);
    await recordHistory(driver, { action: 'dropped', indexName: name, table, definition, evidence: { ...evidence, reason } }, options.historyTable);
    return { name, definition, status: 'dropped', reason, beforeMs, afterMs, measuredGain, realBytes };
  }
  for (const [fingerprint, ms] of after) current.set(fingerprint, ms);
  await recordHistory(driver, { action: 'kept', indexName: name, table, definition, evidence }, options.historyTable);
  return { name, definition, status: 'kept', reason: `measured gain ${(measuredGain * 100).toFixed(1)} %`, beforeMs, afterMs, measuredGain, realBytes };
}
