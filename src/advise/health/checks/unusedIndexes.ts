import type { HealthCheck } from '../check.js';

/** Indexes never scanned over a statistics window long enough to mean something. */
export const unusedIndexesCheck: HealthCheck = {
  id: 'unused-indexes',
  description: 'indexes with no scan since the statistics were reset (not unique, not constraint-backed)',
  async run({ session, schemas, thresholds }) {
    const result = await session.query<{ name: string; bytes: string; window_days: number | null }>(
      `SELECT s.indexrelid::regclass::text AS name, pg_relation_size(s.indexrelid)::text AS bytes,
              extract(epoch FROM now() - coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()), pg_postmaster_start_time())) / 86400 AS window_days
       FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
       WHERE s.idx_scan = 0 AND NOT i.indisunique AND s.schemaname = ANY($1)
         AND pg_relation_size(s.indexrelid) >= $2
       ORDER BY 1`,
      [schemas, thresholds.unusedIndexMinBytes],
    );
    return result.rows.map((row) => {
      const long = (row.window_days ?? 0) >= thresholds.unusedIndexWindowDays;
      return {
        check: 'unused-indexes',
        severity: long ? ('warning' as const) : ('info' as const),
        object: row.name,
        message: `${row.name} (${(Number(row.bytes) / 1048576).toFixed(1)} MiB) has not been scanned in ${(row.window_days ?? 0).toFixed(1)} days of statistics${long ? '' : ' (window shorter than the threshold: check again later)'}`,
        threshold: `0 scans over >= ${thresholds.unusedIndexWindowDays} days, >= ${thresholds.unusedIndexMinBytes} bytes`,
        remediation: long ? `DROP INDEX CONCURRENTLY IF EXISTS ${row.name};` : null,
      };
    });
  },
};
