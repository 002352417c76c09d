import type { HealthCheck } from '../check.js';

/** Tables changed a lot since their last ANALYZE, or never analyzed: the planner works from old numbers. */
export const staleStatisticsCheck: HealthCheck = {
  id: 'stale-statistics',
  description: 'tables modified beyond a share of their rows since the last ANALYZE',
  async run({ session, schemas, thresholds }) {
    const result = await session.query<{ table: string; modified: string; live: string; analyzed: boolean }>(
      `SELECT relid::regclass::text AS "table", n_mod_since_analyze::text AS modified, n_live_tup::text AS live,
              (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL) AS analyzed
       FROM pg_stat_user_tables
       WHERE schemaname = ANY($1) AND n_mod_since_analyze >= $2
         AND (n_mod_since_analyze::float8 / greatest(n_live_tup, 1) >= $3 OR (last_analyze IS NULL AND last_autoanalyze IS NULL))
       ORDER BY 1`,
      [schemas, thresholds.staleStatsMinRows, thresholds.staleStatsRatio],
    );
    return result.rows.map((row) => ({
      check: 'stale-statistics',
      severity: row.analyzed ? ('warning' as const) : ('critical' as const),
      object: row.table,
      message: row.analyzed
        ? `${row.table}: ${row.modified} rows modified since the last ANALYZE (${row.live} live)`
        : `${row.table} has never been analyzed (${row.modified} rows modified)`,
      threshold: `modified >= ${thresholds.staleStatsRatio} of live rows and >= ${thresholds.staleStatsMinRows}`,
      remediation: `ANALYZE ${row.table};`,
    }));
  },
};
