import type { HealthCheck } from '../check.js';

/** The share of block reads served from shared buffers, for the current database. */
export const cacheHitRatioCheck: HealthCheck = {
  id: 'cache-hit-ratio',
  description: 'buffer cache hit ratio of the current database',
  async run({ session, thresholds }) {
    const result = await session.query<{ hit: string; read: string }>(
      'SELECT blks_hit::text AS hit, blks_read::text AS read FROM pg_stat_database WHERE datname = current_database()',
    );
    const hit = Number(result.rows[0]?.hit ?? 0);
    const read = Number(result.rows[0]?.read ?? 0);
    if (hit + read < thresholds.cacheHitMinBlocks) return [];
    const ratio = hit / (hit + read);
    if (ratio >= thresholds.cacheHitWarning) return [];
    return [{
      check: 'cache-hit-ratio',
      severity: ratio < thresholds.cacheHitCritical ? ('critical' as const) : ('warning' as const),
      object: 'database',
      message: `cache hit ratio ${(ratio * 100).toFixed(2)} % (${read} blocks read from disk)`,
      threshold: `>= ${thresholds.cacheHitWarning} (critical below ${thresholds.cacheHitCritical})`,
      remediation: "-- more memory for the working set: ALTER SYSTEM SET shared_buffers = '<about 25 % of RAM>'; then restart",
    }];
  },
};
