import type { Driver } from '../db/driver.js';
import type { SqlAnalysis } from '../sql/analyze.js';
import { PgStatStatementsUnavailableError } from './errors.js';
import type { FingerprintStats } from './recorder.js';

/** Whether the server's pg_stat_statements view can be read, and if not, why and how to fix it. */
export type PgStatStatementsStatus =
  | { available: true; installedNow: boolean }
  | { available: false; reason: string; howToEnable: string };

/** One row of `qopt top`: the server's view of a statement merged with qopt's percentiles. */
export interface TopQueryRow {
  fingerprint: string | null;
  query: string;
  /** From pg_stat_statements (null when it is absent). */
  server: { calls: number; totalMs: number; meanMs: number; rows: number; sharedHitRatio: number | null } | null;
  /** From qopt's recorder (null when qopt never saw the statement). */
  qopt: Pick<FingerprintStats, 'calls' | 'totalMs' | 'p50Ms' | 'p95Ms' | 'p99Ms' | 'p999Ms' | 'maxMs' | 'errors'> | null;
}

/** What `topQueries` reads of qopt's own statistics per fingerprint (a recorder snapshot, or a service's dashboard rows). */
export type TopQueryInput = Pick<FingerprintStats, 'fingerprint' | 'normalized' | 'calls' | 'totalMs' | 'p50Ms' | 'p95Ms' | 'p99Ms' | 'p999Ms' | 'maxMs' | 'errors'>;

/** The `qopt top` report. */
export interface TopReport {
  source: 'pg_stat_statements+qopt' | 'qopt';
  note: string | null;
  rows: TopQueryRow[];
}

const HOW_TO_ENABLE =
  "add pg_stat_statements to shared_preload_libraries in postgresql.conf (ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'), " +
  'restart PostgreSQL at a moment of your choosing, then run CREATE EXTENSION pg_stat_statements in the database (or qopt top --install)';

/**
 * Checks whether pg_stat_statements can be read. With `install`, runs CREATE EXTENSION when the
 * library is preloaded but the extension is not created yet; it never changes server settings and
 * never restarts anything.
 */
export async function pgStatStatementsStatus(driver: Driver, options: { install?: boolean } = {}): Promise<PgStatStatementsStatus> {
  if (driver.dialect === 'pglite') {
    return { available: false, reason: 'the embedded PGlite database has no pg_stat_statements', howToEnable: 'point qopt at a PostgreSQL server (--database postgres://…) where the extension is enabled' };
  }
  const { rows } = await driver.query<{ preload: string; installed: boolean; packaged: boolean }>(
    `SELECT current_setting('shared_preload_libraries') AS preload,
            EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS packaged`,
  );
  const { preload, installed, packaged } = rows[0]!;
  const preloaded = preload.split(',').map((name) => name.trim().replace(/^"|"$/g, '')).includes('pg_stat_statements');
  if (!packaged) return { available: false, reason: 'the pg_stat_statements extension is not installed on the server (contrib package missing)', howToEnable: `install PostgreSQL's contrib package, then ${HOW_TO_ENABLE}` };
  if (!preloaded) return { available: false, reason: `pg_stat_statements is not in shared_preload_libraries (currently "${preload}")`, howToEnable: HOW_TO_ENABLE };
  if (installed) return { available: true, installedNow: false };
  if (!options.install) return { available: false, reason: 'pg_stat_statements is preloaded but CREATE EXTENSION was not run in this database', howToEnable: 'run CREATE EXTENSION pg_stat_statements (or qopt top --install)' };
  await driver.exec('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  return { available: true, installedNow: true };
}

interface ServerRow {
  query: string;
  calls: string | number;
  total_exec_time: number;
  mean_exec_time: number;
  rows: string | number;
  shared_blks_hit: string | number;
  shared_blks_read: string | number;
}

/** Reads the server's statements of the current database, by total time; throws PgStatStatementsUnavailableError when absent. */
export async function readPgStatStatements(driver: Driver, limit = 50): Promise<ServerRow[]> {
  const status = await pgStatStatementsStatus(driver);
  if (!status.available) throw new PgStatStatementsUnavailableError(`${status.reason}; to enable: ${status.howToEnable}`);
  const { rows } = await driver.query<ServerRow>(
    `SELECT query, calls, total_exec_time, mean_exec_time, rows, shared_blks_hit, shared_blks_read
       FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      ORDER BY total_exec_time DESC
      LIMIT $1`,
    [limit],
  );
  return rows;
}

function fingerprintOf(query: string, analyze: (sql: string) => SqlAnalysis): string | null {
  try {
    return analyze(query).fingerprint;
  } catch {
    // pg_stat_statements shows "<insufficient privilege>" and utility texts qopt's parser may refuse.
    return null;
  }
}

function qoptPart(stats: TopQueryInput): TopQueryRow['qopt'] {
  const { calls, totalMs, p50Ms, p95Ms, p99Ms, p999Ms, maxMs, errors } = stats;
  return { calls, totalMs, p50Ms, p95Ms, p99Ms, p999Ms, maxMs, errors };
}

/**
 * `qopt top`: the server's pg_stat_statements (calls, total and mean time, rows, shared-buffer hit
 * ratio) merged by fingerprint with qopt's real percentiles; qopt's statistics alone, with a note
 * saying how to enable the extension, when the server cannot provide them.
 */
export async function topQueries(driver: Driver | null, qoptStats: readonly TopQueryInput[], analyze: (sql: string) => SqlAnalysis, options: { limit?: number; install?: boolean } = {}): Promise<TopReport> {
  const limit = options.limit ?? 20;
  const byFingerprint = new Map(qoptStats.map((stats) => [stats.fingerprint as string, stats]));
  const qoptOnly = (note: string): TopReport => ({
    source: 'qopt',
    note,
    rows: qoptStats.slice(0, limit).map((stats) => ({ fingerprint: stats.fingerprint, query: stats.normalized, server: null, qopt: qoptPart(stats) })),
  });
  if (!driver) return qoptOnly('no database given: qopt statistics only');
  const status = await pgStatStatementsStatus(driver, { install: options.install });
  if (!status.available) return qoptOnly(`pg_stat_statements unavailable: ${status.reason}. To enable it: ${status.howToEnable}`);
  const serverRows = await readPgStatStatements(driver, limit);
  const rows: TopQueryRow[] = serverRows.map((row) => {
    const fingerprint = fingerprintOf(row.query, analyze);
    const hit = Number(row.shared_blks_hit);
    const read = Number(row.shared_blks_read);
    const stats = fingerprint ? byFingerprint.get(fingerprint) : undefined;
    if (fingerprint) byFingerprint.delete(fingerprint);
    return {
      fingerprint,
      query: row.query,
      server: { calls: Number(row.calls), totalMs: row.total_exec_time, meanMs: row.mean_exec_time, rows: Number(row.rows), sharedHitRatio: hit + read === 0 ? null : hit / (hit + read) },
      qopt: stats ? qoptPart(stats) : null,
    };
  });
  for (const stats of byFingerprint.values()) rows.push({ fingerprint: stats.fingerprint, query: stats.normalized, server: null, qopt: qoptPart(stats) });
  return { source: 'pg_stat_statements+qopt', note: status.installedNow ? 'created the pg_stat_statements extension in this database' : null, rows: rows.slice(0, limit) };
}
