import type { HealthCheck } from '../check.js';

/** Sequences close to their maximum, counting the type of the column they feed (a serial int4 ends at 2^31 − 1). */
export const sequenceExhaustionCheck: HealthCheck = {
  id: 'sequence-exhaustion',
  description: 'sequences (and the integer columns they feed) near their maximum value',
  async run({ session, schemas, thresholds }) {
    const result = await session.query<{ sequence: string; last: string; max: string; column_type: string | null }>(
      `SELECT s.schemaname || '.' || s.sequencename AS sequence, coalesce(s.last_value, s.start_value)::text AS last,
              s.max_value::text AS max, format_type(a.atttypid, NULL) AS column_type
       FROM pg_sequences s
       LEFT JOIN pg_depend d ON d.objid = to_regclass(quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename)) AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
       LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
       WHERE s.schemaname = ANY($1) ORDER BY 1`,
      [schemas],
    );
    const findings = [];
    for (const row of result.rows) {
      const columnMax = row.column_type === 'integer' ? 2147483647 : row.column_type === 'smallint' ? 32767 : Number.POSITIVE_INFINITY;
      const max = Math.min(Number(row.max), columnMax);
      const used = Number(row.last) / max;
      if (used < thresholds.sequenceWarning) continue;
      findings.push({
        check: 'sequence-exhaustion',
        severity: used >= thresholds.sequenceCritical ? ('critical' as const) : ('warning' as const),
        object: row.sequence,
        message: `${row.sequence} is at ${(used * 100).toFixed(1)} % of its maximum ${max}${columnMax < Number(row.max) ? ` (its column is ${row.column_type})` : ''}`,
        threshold: `>= ${thresholds.sequenceWarning} of the maximum (critical >= ${thresholds.sequenceCritical})`,
        remediation: columnMax < Number(row.max) ? '-- widen the column to bigint (ALTER TABLE … ALTER COLUMN … TYPE bigint), then the sequence' : `ALTER SEQUENCE ${row.sequence} AS bigint MAXVALUE 9223372036854775807;`,
      });
    }
    return findings;
  },
};
