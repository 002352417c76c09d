import type { HealthCheck } from '../check.js';

/**
 * B-tree indexes much larger than their entries need: expected size from the index's tuple count
 * and its columns' average widths at the default fillfactor, against pg_relation_size.
 */
export const indexBloatCheck: HealthCheck = {
  id: 'index-bloat',
  description: 'B-tree indexes larger than their estimated compact size by a factor',
  async run({ session, schemas, thresholds }) {
    const result = await session.query<{ name: string; bytes: string; expected: string }>(
      `SELECT c.oid::regclass::text AS name, pg_relation_size(c.oid)::text AS bytes,
              (ceil(greatest(c.reltuples, 0) * (12 + coalesce((
                 SELECT sum(coalesce(s.avg_width, 8)) FROM pg_attribute a
                 LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname
                 WHERE a.attrelid = t.oid AND a.attnum = ANY(string_to_array(i.indkey::text, ' ')::int2[])), 8))
               / (8152 * 0.9)) * 8192 + 16384)::text AS expected
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = c.relam
       WHERE am.amname = 'btree' AND n.nspname = ANY($1) AND pg_relation_size(c.oid) >= $2 ORDER BY 1`,
      [schemas, thresholds.indexBloatMinBytes],
    );
    return result.rows
      .filter((row) => Number(row.bytes) / Math.max(1, Number(row.expected)) >= thresholds.indexBloatRatio)
      .map((row) => ({
        check: 'index-bloat',
        severity: 'warning' as const,
        object: row.name,
        message: `${row.name} is ${(Number(row.bytes) / Number(row.expected)).toFixed(1)}× its estimated compact size (${(Number(row.bytes) / 1048576).toFixed(1)} MiB)`,
        threshold: `size >= ${thresholds.indexBloatRatio}× estimate and >= ${thresholds.indexBloatMinBytes} bytes`,
        remediation: `REINDEX INDEX CONCURRENTLY ${row.name};`,
      }));
  },
};
