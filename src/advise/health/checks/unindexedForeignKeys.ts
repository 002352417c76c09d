import type { HealthCheck } from '../check.js';

/** Foreign keys whose referencing columns lead no index: joins and parent deletes scan the child table. */
export const unindexedForeignKeysCheck: HealthCheck = {
  id: 'unindexed-foreign-keys',
  description: 'foreign keys without an index whose leading columns are the referencing columns',
  async run({ session, schemas }) {
    const result = await session.query<{ constraint_name: string; table: string; columns: string[] }>(
      `SELECT k.conname AS constraint_name, k.conrelid::regclass::text AS "table",
              ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.n)::text[] AS columns
       FROM pg_constraint k
       WHERE k.contype = 'f' AND k.connamespace::regnamespace::text = ANY($1)
         AND NOT EXISTS (
           SELECT 1 FROM pg_index i
           WHERE i.indrelid = k.conrelid AND i.indisvalid AND i.indpred IS NULL
             AND (string_to_array(i.indkey::text, ' ')::int2[])[1:array_length(k.conkey, 1)] @> k.conkey
             AND (string_to_array(i.indkey::text, ' ')::int2[])[1:array_length(k.conkey, 1)] <@ k.conkey)
       ORDER BY 2, 1`,
      [schemas],
    );
    return result.rows.map((row) => ({
      check: 'unindexed-foreign-keys',
      severity: 'warning' as const,
      object: `${row.table}.${row.constraint_name}`,
      message: `foreign key ${row.constraint_name} on ${row.table} (${row.columns.join(', ')}) has no index: joins and parent deletes scan ${row.table}`,
      threshold: 'no index led by the foreign key columns',
      remediation: `CREATE INDEX CONCURRENTLY ON ${row.table} (${row.columns.join(', ')});`,
    }));
  },
};
