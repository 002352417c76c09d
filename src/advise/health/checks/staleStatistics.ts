import type { HealthCheck } from '../check.js';

/** Tables changed a lot since their last ANALYZE, or never analyzed: the planner works from old numbers. */
export const staleStatisticsCheck: HealthCheck = {
  id: 'stale-statistics',
  description: 'tables modified beyond a share of their rows since the last ANALYZE',
  async run({ session, schemas, thresholds }) {
    const result = await session.query<{ table: string; modified: string; live: string; analyzed: boolean; materialized: boolean }>(
      `SELECT s.relid::regclass::text AS "table", s.n_mod_since_analyze::text AS modified, s.n_live_tup::text AS live,
              (s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL) AS analyzed, c.relkind = 'm' AS materialized
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
       WHERE s.schemaname = ANY($1) AND s.n_mod_since_analyze >= $2
         AND (s.n_mod_since_analyze::float8 / greatest(s.n_live_tup, 1) >= $3 OR (s.last_analyze IS NULL AND s.last_autoanalyze IS NULL))
       ORDER BY 1`,
      [schemas, thresholds.staleStatsMinRows, thresholds.staleStatsRatio],
    );
    return result.rows.map((row) => {
      const threshold = `modified >= ${thresholds.staleStatsRatio} of live rows and >= ${thresholds.staleStatsMinRows}`;
      const remediation = `ANALYZE ${row.table};`;
      if (row.analyzed) {
        return { check: 'stale-statistics', severity: 'warning' as const, object: row.table, message: `${row.table}: ${row.modified} rows modified since the last ANALYZE (${row.live} live)`, threshold, remediation };
      }
      // The planner sizes an unanalyzed materialized view from its pages; it lacks only column statistics, so its
      // plans are rougher, not blind: a warning (qopt views --create leaves one so until autovacuum or an ANALYZE).
      if (row.materialized) {
        return { check: 'stale-statistics', severity: 'warning' as const, object: row.table, message: `materialized view ${row.table} has never been analyzed (${row.live} rows)`, threshold, remediation };
      }
      return { check: 'stale-statistics', severity: 'critical' as const, object: row.table, message: `${row.table} has never been analyzed (${row.modified} rows modified)`, threshold, remediation };
    });
  },
};
