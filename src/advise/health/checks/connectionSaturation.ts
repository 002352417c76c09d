import type { HealthCheck } from '../check.js';

/** Connections in use against max_connections (minus the reserved superuser slots). */
export const connectionSaturationCheck: HealthCheck = {
  id: 'connection-saturation',
  description: 'server connections in use as a share of max_connections',
  async run({ session, thresholds }) {
    const result = await session.query<{ used: string; allowed: string }>(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::text AS used,
              (current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int)::text AS allowed`,
    );
    const used = Number(result.rows[0]?.used ?? 0);
    const allowed = Math.max(1, Number(result.rows[0]?.allowed ?? 1));
    const share = used / allowed;
    if (share < thresholds.connectionWarning) return [];
    return [{
      check: 'connection-saturation',
      severity: share >= thresholds.connectionCritical ? ('critical' as const) : ('warning' as const),
      object: 'server',
      message: `${used} of ${allowed} connections in use (${(share * 100).toFixed(0)} %)`,
      threshold: `>= ${thresholds.connectionWarning} (critical >= ${thresholds.connectionCritical})`,
      remediation: '-- pool connections (PgBouncer, a smaller client pool) or raise max_connections',
    }];
  },
};
