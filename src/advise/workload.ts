import type { Driver } from '../db/driver.js';
import type { FingerprintStats } from '../monitor/recorder.js';
import { analyzeSql } from '../sql/analyze.js';
import { parseStatements } from '../sql/parser.js';

/** One query shape of the workload the advisor optimizes for. */
export interface AdvisorQuery {
  /** The fingerprint: equal for the same shape. */
  fingerprint: string;
  /** A name for reports (a workload query name), or null. */
  name: string | null;
  /** The statement: literal, or with `$n` parameters. */
  sql: string;
  calls: number;
  /** Total execution time over the window, or null when unknown (a SQL file): weighted by cost then. */
  totalMs: number | null;
  /** Parameter sets it runs with; none means parameters are planned generically. */
  paramSamples: unknown[][];
}

/** Queries of qopt's own recorder (`qo.recorder.snapshot()`), weighted by calls × time. */
export function workloadFromRecorder(stats: readonly FingerprintStats[]): AdvisorQuery[] {
  return stats.map((entry) => ({
    fingerprint: entry.fingerprint,
    name: null,
    sql: entry.normalized,
    calls: entry.calls,
    totalMs: entry.totalMs,
    paramSamples: [],
  }));
}

/** The statements of a SQL file, one query each; repeats of a shape add up their calls. */
export function workloadFromSqlText(text: string): AdvisorQuery[] {
  const byFingerprint = new Map<string, AdvisorQuery>();
  const bytes = Buffer.from(text, 'utf8');
  for (const statement of parseStatements(text)) {
    const sql = bytes.subarray(statement.location, statement.length === undefined ? undefined : statement.location + statement.length).toString('utf8').trim();
    if (sql.length === 0) continue;
    const analysis = analyzeSql(sql);
    const known = byFingerprint.get(analysis.fingerprint);
    if (known) known.calls += 1;
    else byFingerprint.set(analysis.fingerprint, { fingerprint: analysis.fingerprint, name: null, sql, calls: 1, totalMs: null, paramSamples: [] });
  }
  return [...byFingerprint.values()];
}

/** Whether pg_stat_statements can be read on this database. */
export async function hasPgStatStatements(driver: Driver): Promise<boolean> {
  if (driver.dialect !== 'postgres') return false;
  const result = await driver.query<{ present: boolean }>("SELECT to_regclass('pg_stat_statements') IS NOT NULL AS present");
  return Boolean(result.rows[0]?.present);
}

/** The current database's statements from pg_stat_statements, by total time (the top `limit`). */
export async function workloadFromPgStatStatements(driver: Driver, limit = 200): Promise<AdvisorQuery[]> {
  const result = await driver.query<{ query: string; calls: string; total_ms: number }>(
    `SELECT query, calls::text AS calls, total_exec_time AS total_ms FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND query ~* '^\\s*(select|with|update|delete|insert)'
     ORDER BY total_exec_time DESC LIMIT $1`,
    [limit],
  );
  const queries: AdvisorQuery[] = [];
  for (const row of result.rows) {
    try {
      const analysis = analyzeSql(row.query);
      queries.push({ fingerprint: analysis.fingerprint, name: null, sql: row.query, calls: Number(row.calls), totalMs: row.total_ms, paramSamples: [] });
    } catch {
      // A statement the parser cannot read (truncated by track_activity_query_size) is left out of the workload.
      continue;
    }
  }
  return queries;
}
