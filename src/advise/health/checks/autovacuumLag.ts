import type { HealthCheck } from '../check.js';

/** Tables past their autovacuum trigger for too long, and tables near transaction-ID wraparound. */
export const autovacuumLagCheck: HealthCheck = {
  id: 'autovacuum-lag',
  description: 'dead tuples past the autovacuum trigger without a recent vacuum; freeze age near autovacuum_freeze_max_age',
  async run({ session, schemas, thresholds }) {
    const result = await session.query<{ table: string; dead: string; hours: number | null; freeze_fraction: number }>(
      `SELECT s.relid::regclass::text AS "table", s.n_dead_tup::text AS dead,
              extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum)) / 3600 AS hours,
              age(c.relfrozenxid)::float8 / current_setting('autovacuum_freeze_max_age')::float8 AS freeze_fraction
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
       WHERE s.schemaname = ANY($1)
         AND (s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8 + current_setting('autovacuum_vacuum_scale_factor')::float8 * s.n_live_tup
              OR age(c.relfrozenxid)::float8 / current_setting('autovacuum_freeze_max_age')::float8 >= $2)
       ORDER BY 1`,
      [schemas, thresholds.freezeAgeFraction],
    );
    const findings = [];
    for (const row of result.rows) {
      if (row.freeze_fraction >= thresholds.freezeAgeFraction) {
        findings.push({
          check: 'autovacuum-lag',
          severity: 'critical' as const,
          object: row.table,
          message: `${row.table}: transaction ID age at ${(row.freeze_fraction * 100).toFixed(0)} % of autovacuum_freeze_max_age`,
          threshold: `freeze age >= ${thresholds.freezeAgeFraction} of autovacuum_freeze_max_age`,
          remediation: `VACUUM (FREEZE, ANALYZE) ${row.table};`,
        });
      }
      if (row.hours === null || row.hours >= thresholds.autovacuumLagHours) {
        findings.push({
          check: 'autovacuum-lag',
          severity: 'warning' as const,
          object: row.table,
          message: `${row.table}: ${row.dead} dead tuples past the autovacuum trigger, ${row.hours === null ? 'never vacuumed' : `last vacuum ${row.hours.toFixed(0)} h ago`}`,
          threshold: `past the trigger and no vacuum for >= ${thresholds.autovacuumLagHours} h`,
          remediation: `VACUUM (ANALYZE) ${row.table}; -- and lower autovacuum_vacuum_scale_factor for it: ALTER TABLE ${row.table} SET (autovacuum_vacuum_scale_factor = 0.05);`,
        });
      }
    }
    return findings;
  },
};
