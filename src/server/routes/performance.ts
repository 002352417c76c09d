import { z } from 'zod';
import { unavailable } from '../capabilities.js';
import type { CapabilityName } from '../capabilities.js';
import type { CacheStats } from '../../cache/queryCache.js';
import { RecentValues } from '../recentValues.js';
import { defineRoute } from '../route.js';
import type { ApiRoute, ServiceContext } from '../route.js';

const booleanText = z.enum(['true', 'false']).transform((value) => value === 'true');

/** Query string of `GET /performance/dashboard`. */
export const dashboardQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(20).describe('queries listed, by total time'),
});

/** Query string of `GET /performance/slow-queries`. */
export const slowQueriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  min_duration_ms: z.coerce.number().min(0).default(1000),
});

/** Body of `POST /performance/create-alert`. */
export const createAlertBody = z.strictObject({
  metric_type: z.enum(['execution_time', 'error_rate', 'slow_query_percentage', 'cache_hit_rate', 'queue_length', 'memory_usage', 'cpu_usage']),
  threshold_value: z.number().finite(),
  comparison_operator: z.enum(['>', '>=', '<', '<=', '==']),
  window_minutes: z.number().int().min(1).max(1440).default(5),
  min_occurrences: z.number().int().min(1).max(100_000).default(1),
  severity: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
});

/** Query string of `GET /performance/alerts`. */
export const alertsQuery = z.strictObject({
  active_only: booleanText.default(true),
});

const queryStats = z.object({
  fingerprint: z.string(),
  normalized: z.string(),
  calls: z.number().int(),
  errors: z.number().int(),
  rows: z.number().int(),
  total_ms: z.number(),
  mean_ms: z.number(),
  p50_ms: z.number(),
  p95_ms: z.number(),
  p99_ms: z.number(),
  max_ms: z.number(),
});

/** Answer of `GET /performance/dashboard`: the numbers behind the web dashboard. */
export const dashboardResponse = z.object({
  generated_at: z.string(),
  uptime_seconds: z.number(),
  totals: z.object({ fingerprints: z.number().int(), calls: z.number().int(), errors: z.number().int(), total_ms: z.number() }),
  queries: z.array(queryStats).describe('by total time, largest first, with real percentiles from per-fingerprint histograms'),
  cache: z.unknown().nullable().describe('hit ratio per tier (null: no cache capability in this build)'),
  slow_queries: z.unknown().nullable(),
  alerts: z.unknown().nullable(),
  recommendations: z.unknown().nullable(),
  rewrites: z.unknown().nullable(),
  unavailable: z.array(z.string()).describe('capabilities this build lacks, whose sections are null'),
});

/** The cache's statistics with the per-tier hit ratios the dashboard charts. */
function cacheForDashboard(stats: CacheStats): CacheStats & { tiers: Array<{ name: string; hit_ratio: number; hits: number; misses: number }> } {
  const tiers = [
    { name: 'L1 memory', tier: stats.l1 },
    { name: 'L2 Redis', tier: stats.l2 },
    { name: 'L3 file', tier: stats.l3 },
  ].flatMap(({ name, tier }) => (tier ? [{ name, hits: tier.hits, misses: tier.misses, hit_ratio: tier.hits / Math.max(1, tier.hits + tier.misses) }] : []));
  return { ...stats, tiers };
}

/** `/performance/*`: the dashboard's data, slow queries and alert rules. */
export function performanceRoutes({ qo, config, capabilities, startedAt }: ServiceContext): ApiRoute<never, never>[] {
  const missing = (['cache', 'monitor', 'advisor', 'rewrite'] as CapabilityName[]).filter((name) => !capabilities[name]);
  const dashboard = (limit: number): z.infer<typeof dashboardResponse> => {
    const stats = qo.recorder.snapshot();
    return {
      generated_at: new Date().toISOString(),
      uptime_seconds: (Date.now() - startedAt) / 1000,
      totals: {
        fingerprints: stats.length,
        calls: stats.reduce((sum, entry) => sum + entry.calls, 0),
        errors: stats.reduce((sum, entry) => sum + entry.errors, 0),
        total_ms: stats.reduce((sum, entry) => sum + entry.totalMs, 0),
      },
      queries: stats.slice(0, limit).map((entry) => ({
        fingerprint: entry.fingerprint,
        normalized: entry.normalized,
        calls: entry.calls,
        errors: entry.errors,
        rows: entry.rows,
        total_ms: entry.totalMs,
        mean_ms: entry.meanMs,
        p50_ms: entry.p50Ms,
        p95_ms: entry.p95Ms,
        p99_ms: entry.p99Ms,
        max_ms: entry.maxMs,
      })),
      cache: capabilities.cache ? cacheForDashboard(qo.cache.stats()) : null,
      slow_queries: null,
      alerts: null,
      recommendations: null,
      rewrites: null,
      unavailable: missing,
    };
  };
  const recent = new RecentValues(config.server.dashboardMaxAgeMs);
  return [
    defineRoute({
      method: 'GET',
      path: '/performance/dashboard',
      summary: 'Everything the dashboard shows: queries by total time with p50 / p95 / p99, cache, slow queries, alerts, recommendations',
      tag: 'performance',
      auth: false,
      querystring: dashboardQuery,
      response: dashboardResponse,
      async handler({ query }) {
        return recent.get(String(query.limit), () => dashboard(query.limit));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/performance/slow-queries',
      summary: 'Slow query log: statements slower than min_duration_ms, with their plans and parameters (redacted unless configured)',
      tag: 'performance',
      auth: false,
      querystring: slowQueriesQuery,
      errors: [501],
      async handler() {
        return unavailable('monitor');
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/performance/create-alert',
      summary: 'Creates an alert rule on a metric',
      tag: 'performance',
      auth: true,
      body: createAlertBody,
      errors: [501],
      async handler() {
        return unavailable('monitor');
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/performance/alerts',
      summary: 'Alerts (open ones only by default)',
      tag: 'performance',
      auth: false,
      querystring: alertsQuery,
      errors: [501],
      async handler() {
        return unavailable('monitor');
      },
    }),
  ];
}
