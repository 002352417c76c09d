import type { HealthCheck } from '../check.js';

/** Indexes left INVALID by a failed concurrent build: maintained on every write, never used. */
export const invalidIndexesCheck: HealthCheck = {
  id: 'invalid-indexes',
  description: 'INVALID indexes (a failed CREATE INDEX CONCURRENTLY)',
  async run({ session, schemas }) {
    const result = await session.query<{ name: string }>(
      `SELECT c.oid::regclass::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE NOT i.indisvalid AND c.relnamespace::regnamespace::text = ANY($1) ORDER BY 1`,
      [schemas],
    );
    return result.rows.map((row) => ({
      check: 'invalid-indexes',
      severity: 'critical' as const,
      object: row.name,
      message: `${row.name} is INVALID: it costs every write and serves no read`,
      threshold: 'indisvalid = false',
      remediation: `DROP INDEX CONCURRENTLY IF EXISTS ${row.name}; -- or REINDEX INDEX CONCURRENTLY ${row.name};`,
    }));
  },
};
