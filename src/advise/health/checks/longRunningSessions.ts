import type { HealthCheck } from '../check.js';

/** Queries running for long, and sessions idle inside an open transaction (they hold locks and block vacuum). */
export const longRunningSessionsCheck: HealthCheck = {
  id: 'long-running-sessions',
  description: 'active queries past a duration; sessions idle in transaction past a duration',
  async run({ session, thresholds }) {
    const result = await session.query<{ pid: number; state: string; seconds: number; query: string }>(
      `SELECT pid, state, extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start ELSE state_change END) AS seconds, left(query, 120) AS query
       FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
         AND ((state = 'active' AND now() - query_start >= make_interval(secs => $1))
           OR (state LIKE 'idle in transaction%' AND now() - state_change >= make_interval(secs => $2)))
       ORDER BY seconds DESC`,
      [thresholds.longQuerySeconds, thresholds.idleInTransactionSeconds],
    );
    return result.rows.map((row) =>
      row.state === 'active'
        ? {
            check: 'long-running-sessions',
            severity: row.seconds >= thresholds.longQueryCriticalSeconds ? ('critical' as const) : ('warning' as const),
            object: `pid ${row.pid}`,
            message: `query running for ${row.seconds.toFixed(0)} s: ${row.query}`,
            threshold: `active >= ${thresholds.longQuerySeconds} s (critical >= ${thresholds.longQueryCriticalSeconds} s)`,
            remediation: `SELECT pg_cancel_backend(${row.pid}); -- and set statement_timeout for the role`,
          }
        : {
            check: 'long-running-sessions',
            severity: 'warning' as const,
            object: `pid ${row.pid}`,
            message: `idle in transaction for ${row.seconds.toFixed(0)} s: ${row.query}`,
            threshold: `idle in transaction >= ${thresholds.idleInTransactionSeconds} s`,
            remediation: `SELECT pg_terminate_backend(${row.pid}); -- and SET idle_in_transaction_session_timeout = '${thresholds.idleInTransactionSeconds}s'`,
          },
    );
  },
};
