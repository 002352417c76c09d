import type { HealthCheck } from '../check.js';

/** Tables with a large share of dead tuples (an estimate of heap bloat from pg_stat_user_tables). */
export const tableBloatCheck: HealthCheck = {
  id: 'table-bloat',
  description: 'dead tuples above a share of the table',
  async run({ session, schemas, thresholds }) {
    const result = await session.query<{ table: string; live: string; dead: string }>(
      `SELECT relid::regclass::text AS "table", n_live_tup::text AS live, n_dead_tup::text AS dead FROM pg_stat_user_tables
       WHERE schemaname = ANY($1) AND n_dead_tup >= $2 AND n_dead_tup::float8 / greatest(n_live_tup + n_dead_tup, 1) >= $3 ORDER BY 1`,
      [schemas, thresholds.deadTupleMin, thresholds.deadTupleRatio],
    );
    return result.rows.map((row) => {
      const ratio = Number(row.dead) / Math.max(1, Number(row.live) + Number(row.dead));
      return {
        check: 'table-bloat',
        severity: ratio >= 0.5 ? ('critical' as const) : ('warning' as const),
        object: row.table,
        message: `${row.table}: ${(ratio * 100).toFixed(0)} % dead tuples (${row.dead})`,
        threshold: `dead share >= ${thresholds.deadTupleRatio} and >= ${thresholds.deadTupleMin} dead tuples`,
        remediation: `VACUUM (ANALYZE) ${row.table};`,
      };
    });
  },
};
