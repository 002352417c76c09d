import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { ALERT_METRICS, alertRuleSchema } from '../../monitor/alerts.js';
import type { ActiveAlert, AlertMetric } from '../../monitor/alerts.js';
import type { SlowQueryEntry } from '../../monitor/slowLog.js';
import type { AutoRewriteSummary } from '../../rewrite/autoRewriter.js';
import type { CapabilityName } from '../capabilities.js';
import type { ServiceInsights } from '../insights.js';
import type { CacheStats } from '../../cache/queryCache.js';
import { RecentValues } from '../recentValues.js';
import { defineRoute } from '../route.js';
import type { ApiRoute, ServiceContext } from '../route.js';
import { cacheStatsSchema } from './cache.js';

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

// The seed's short names of the process metrics, accepted beside the monitor's own.
const METRIC_ALIASES = { memory_usage: 'memory_usage_percentage', cpu_usage: 'cpu_usage_percentage' } as const satisfies Record<string, AlertMetric>;
const ruleField = alertRuleSchema.shape;

/**
 * Body of `POST /performance/create-alert`: an alert rule (`alertRuleSchema`) without the id the server
 * assigns, with the seed's metric aliases, its defaults, and bounds on what a client may send.
 */
export const createAlertBody = z.strictObject({
  ...alertRuleSchema.omit({ id: true }).shape,
  metric_type: z
    .union([ruleField.metric_type, z.enum(['memory_usage', 'cpu_usage']).transform((alias) => METRIC_ALIASES[alias])], {
      error: (issue) => `unknown metric_type "${String(issue.input)}" (one of ${[...ALERT_METRICS, ...Object.keys(METRIC_ALIASES)].join(', ')})`,
    }),
  window_minutes: ruleField.window_minutes.default(5),
  min_occurrences: ruleField.min_occurrences.max(100_000).default(1),
  severity: ruleField.severity.default('medium'),
  name: z.string().min(1).max(200).optional(),
  fingerprint: z.string().min(1).max(100).optional().describe(ruleField.fingerprint.description ?? ''),
});

/** Query string of `GET /performance/alerts`. */
export const alertsQuery = z.strictObject({
  active_only: booleanText.default(true),
});

const queryStats = z.strictObject({
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
  p999_ms: z.number(),
  max_ms: z.number(),
});

const DASHBOARD_SLOW_QUERIES = 20;
const count = z.number().int().min(0);
const isoTime = z.iso.datetime();

/** One slow execution as the API shows it (`SlowQueryEntry`, see slowQueryView). */
export const slowQuerySchema = z.strictObject({
  fingerprint: z.string(),
  normalized: z.string(),
  at: isoTime.describe('when it finished'),
  duration_ms: z.number(),
  rows: count,
  failed: z.boolean(),
  route: z.string().nullable().describe('the executor target it ran on'),
  retries: count,
  context: z.string().nullable().describe('the request context it ran in'),
  params: z.array(z.unknown()).describe('bound parameters, or `<redacted:type>` placeholders unless parameter logging is on'),
  plan: z
    .strictObject({ node_type: z.string(), total_cost: z.number(), plan_rows: z.number(), plan: z.record(z.string(), z.unknown()).describe("PostgreSQL's EXPLAIN (FORMAT JSON) plan") })
    .nullable()
    .describe("sampled the first time its fingerprint was slow (EXPLAIN without ANALYZE); null until then"),
  complexity: z
    .strictObject({
      score: z.number().min(0),
      level: z.enum(['low', 'medium', 'high']),
      factors: z.array(z.strictObject({ factor: z.string(), count: z.number().min(0), points: z.number() })),
      from_plan: z.boolean().describe("the plan's factors are counted too (false: the parse tree alone)"),
    })
    .nullable()
    .describe('complexity score of its statement (null when the monitor has no scores)'),
});

// What an alert event and a firing alert both say: the rule's condition, the value measured, and why.
const alertFacts = {
  severity: ruleField.severity,
  metric_type: ruleField.metric_type,
  value: z.number().describe('the value measured (two decimals)'),
  threshold_value: ruleField.threshold_value,
  comparison_operator: ruleField.comparison_operator,
  window_minutes: ruleField.window_minutes,
  occurrences: count.describe('occurrences (or samples) backing the value'),
  message: z.string(),
  evidence: z
    .array(z.strictObject({ fingerprint: z.string(), normalized: z.string(), calls: count, errors: count, slow: count, p95Ms: z.number(), p99Ms: z.number() }))
    .describe('the fingerprints that contributed most, with their window statistics'),
};

/** An alert firing now, as the API shows it (`ActiveAlert`, see alertView). */
export const activeAlertSchema = z.strictObject({
  rule_id: z.string(),
  name: z.string(),
  ...alertFacts,
  since: isoTime,
});

/** A stored alert rule as answered: the fields of `alertRuleSchema`, nothing else. */
const alertRuleAnswer = z.strictObject(alertRuleSchema.shape);

/** A fire or resolve of a rule (`AlertEvent`). */
const alertEventSchema = z.strictObject({
  ruleId: z.string(),
  ruleName: z.string(),
  status: z.enum(['firing', 'resolved']),
  ...alertFacts,
  at: z.number().describe('epoch ms'),
  noTraffic: z.boolean().describe('a resolve because the window had no traffic left to judge (its evidence is then empty)'),
});

/** A regression of one fingerprint against its own baseline (`Anomaly`). */
const anomalySchema = z.strictObject({
  fingerprint: z.string(),
  normalized: z.string(),
  metric: z.enum(['p95_latency', 'error_rate']),
  baseline: z.number().describe('median of past intervals (ms for latency, a fraction for error rate)'),
  current: z.number(),
  ratio: z.number().nullable().describe('current / baseline; null when the baseline is 0 (an error rate rising from none)'),
  confidence: z.number(),
  severity: z.enum(['medium', 'high', 'critical']),
  intervalStart: z.number().describe('epoch ms'),
  detectedAt: z.number().describe('epoch ms'),
  resolvedAt: z.number().nullable(),
  resolution: z.enum(['recovered', 'accepted as new normal']).nullable(),
  description: z.string(),
});

/** A query shape repeated once per item where one batched query would do (`NPlusOneFinding`). */
const nPlusOneSchema = z.strictObject({
  fingerprint: z.string(),
  normalized: z.string(),
  sql: z.string().describe('the statement as the loop ran it'),
  source: z.enum(['context', 'burst']),
  where: z.string().describe('the request context, or `connection <id>` for a burst'),
  calls: count,
  distinctParams: count,
  occurrences: count,
  firstSeenAt: z.number().describe('epoch ms'),
  lastSeenAt: z.number().describe('epoch ms'),
  keyColumn: z.string().nullable(),
  keyParameter: z.number().int().nullable(),
  batchedSql: z.string().nullable().describe('one statement for all keys (`= ANY($n)`)'),
  orderRestoringMap: z.string().nullable(),
  loaderCall: z.string().nullable(),
  loaderUnavailableReason: z.string().nullable(),
  description: z.string(),
});

/** Answer of `GET /performance/slow-queries`. */
export const slowQueriesResponse = z.strictObject({
  log_threshold_ms: z.number(),
  min_duration_ms: z.number(),
  total: count.describe('entries at or above min_duration_ms'),
  queries: z.array(slowQuerySchema).describe('newest first, at most limit'),
  by_query: z
    .array(z.strictObject({ fingerprint: z.string(), normalized: z.string(), count, total_ms: z.number(), max_ms: z.number(), mean_ms: z.number() }))
    .describe('per query shape, by total time'),
  n_plus_one: z.array(nPlusOneSchema).describe('N+1 loops found in the traffic, with the batched statement and loader call that replace each'),
});

/** Answer of `POST /performance/create-alert`. */
export const createAlertResponse = z.strictObject({
  rule: alertRuleAnswer,
  firing: z.boolean().describe('the rule fires already'),
});

/** Answer of `GET /performance/alerts`. */
export const alertsResponse = z.strictObject({
  active: z.array(activeAlertSchema),
  anomalies: z.array(anomalySchema).describe('open ones; with active_only=false, resolved ones too'),
  rules: z.array(alertRuleAnswer).optional().describe('active_only=false only'),
  events: z.array(alertEventSchema).optional().describe('active_only=false only: fires and resolves, newest last'),
});

const tierHitRatio = z.strictObject({ name: z.string(), hits: count, misses: count, hit_ratio: z.number().min(0).max(1) });

const rewriteSeen = {
  rules: z.array(z.string()),
  sql: z.string(),
  rewritten_sql: z.string(),
};

/** Answer of `GET /performance/dashboard`: the numbers behind the web dashboard. */
export const dashboardResponse = z.strictObject({
  generated_at: isoTime,
  uptime_seconds: z.number(),
  totals: z.strictObject({ fingerprints: count, calls: count, errors: count, total_ms: z.number() }),
  queries: z.array(queryStats).describe('by total time, largest first, with real percentiles from per-fingerprint histograms'),
  cache: z
    .strictObject({ ...cacheStatsSchema.shape, tiers: z.array(tierHitRatio) })
    .nullable()
    .describe('the cache statistics with the hit ratio per tier (null: the cache is disabled)'),
  slow_queries: z.array(slowQuerySchema).describe(`the newest ${DASHBOARD_SLOW_QUERIES}`),
  alerts: z.array(activeAlertSchema),
  recommendations: z
    .array(
      z.strictObject({
        definition: z.string(),
        table: z.string(),
        estimated_bytes: z.number().min(0),
        benefit: z.number(),
        unit: z.enum(['ms', 'cost']),
        gain_percent: z.number().nullable().describe('share of the workload it saves (null: the workload has no weight)'),
        generated_at: isoTime,
      }),
    )
    .describe("the advisor's latest answer (empty until GET /optimization/recommendations ran)"),
  rewrites: z.array(
    z.discriminatedUnion('source', [
      z.strictObject({
        source: z.literal('automatic'),
        state: z.enum(['applied', 'reverted']),
        ...rewriteSeen,
        measured: z.strictObject({ before_ms: z.number().nullable(), after_ms: z.number().nullable() }).describe('median latencies'),
        gain_percent: z.number().nullable(),
      }),
      z.strictObject({
        source: z.literal('optimize-query'),
        state: z.literal('proven'),
        ...rewriteSeen,
        planner_cost: z.strictObject({ before: z.number(), after: z.number() }),
        gain_percent: z.number(),
      }),
    ]),
  ),
  unavailable: z.array(z.string()).describe('capabilities this build lacks, whose sections are null'),
});

/** The cache's statistics with the per-tier hit ratios the dashboard charts. */
function cacheForDashboard(stats: CacheStats): NonNullable<z.infer<typeof dashboardResponse>['cache']> {
  const tiers = [
    { name: 'L1 memory', tier: stats.l1 },
    { name: 'L2 Redis', tier: stats.l2 },
    { name: 'L3 file', tier: stats.l3 },
  ].flatMap(({ name, tier }) => (tier ? [{ name, hits: tier.hits, misses: tier.misses, hit_ratio: tier.hits / Math.max(1, tier.hits + tier.misses) }] : []));
  return { ...stats, tiers };
}

function slowQueryView(entry: SlowQueryEntry): z.infer<typeof slowQuerySchema> {
  return {
    fingerprint: entry.fingerprint,
    normalized: entry.normalized,
    at: new Date(entry.at).toISOString(),
    duration_ms: entry.durationMs,
    rows: entry.rows,
    failed: entry.failed,
    route: entry.route,
    retries: entry.retries,
    context: entry.context,
    params: entry.params,
    plan: entry.explain ? { node_type: entry.explain.nodeType, total_cost: entry.explain.totalCost, plan_rows: entry.explain.planRows, plan: entry.explain.plan } : null,
    complexity: entry.complexity ? { score: entry.complexity.score, level: entry.complexity.level, factors: entry.complexity.factors, from_plan: entry.complexity.fromPlan } : null,
  };
}

function alertView(alert: ActiveAlert): z.infer<typeof activeAlertSchema> {
  return {
    rule_id: alert.ruleId,
    name: alert.ruleName,
    severity: alert.severity,
    metric_type: alert.metric_type,
    value: alert.value,
    threshold_value: alert.threshold_value,
    comparison_operator: alert.comparison_operator,
    window_minutes: alert.window_minutes,
    occurrences: alert.occurrences,
    since: new Date(alert.since).toISOString(),
    message: alert.message,
    evidence: alert.evidence,
  };
}

// The advisor's latest answer (the dashboard never starts an advisor run: GET /optimization/recommendations does).
function recommendationsView(insights: ServiceInsights) {
  const latest = insights.recommendations.peek();
  if (!latest) return [];
  const { value: report } = latest;
  return report.recommendations.map((recommendation) => ({
    definition: recommendation.definition,
    table: recommendation.table,
    estimated_bytes: recommendation.estimatedBytes,
    benefit: recommendation.benefit,
    unit: report.weightUnit,
    gain_percent: report.workloadWeight > 0 ? (100 * recommendation.benefit) / report.workloadWeight : null,
    generated_at: new Date(latest.at).toISOString(),
  }));
}

// Rewrites applied automatically (measured medians) and proven through optimize-query (planner costs).
function rewritesView(applied: readonly AutoRewriteSummary[], insights: ServiceInsights) {
  return [
    ...applied.map((rewrite) => ({
      source: 'automatic' as const,
      state: rewrite.state,
      rules: rewrite.rules,
      sql: rewrite.sql,
      rewritten_sql: rewrite.rewrittenSql,
      measured: { before_ms: rewrite.originalMedianMs, after_ms: rewrite.rewrittenMedianMs },
      gain_percent: rewrite.originalMedianMs && rewrite.rewrittenMedianMs !== null ? 100 * (1 - rewrite.rewrittenMedianMs / rewrite.originalMedianMs) : null,
    })),
    ...insights.provenRewrites().map((rewrite) => ({
      source: 'optimize-query' as const,
      state: 'proven' as const,
      rules: rewrite.rules,
      sql: rewrite.sql,
      rewritten_sql: rewrite.rewrittenSql,
      planner_cost: { before: rewrite.costBefore, after: rewrite.costAfter },
      gain_percent: rewrite.improvementPercent,
    })),
  ];
}

/** `/performance/*`: the dashboard's data, slow queries and alert rules. */
export function performanceRoutes({ qo, config, capabilities, startedAt, insights }: ServiceContext): ApiRoute<never, never>[] {
  const missing = (['cache', 'monitor', 'advisor', 'rewrite'] as CapabilityName[]).filter((name) => !capabilities[name]);
  const dashboard = (limit: number): z.infer<typeof dashboardResponse> => {
    // Totals from counters; percentiles only for the rows shown (merging 10,000 fingerprints' histograms takes ~0.3 s).
    const totals = qo.recorder.cumulativeTotals();
    return {
      generated_at: new Date().toISOString(),
      uptime_seconds: (Date.now() - startedAt) / 1000,
      totals: { fingerprints: totals.fingerprints, calls: totals.calls, errors: totals.errors, total_ms: totals.totalMs },
      queries: qo.recorder.snapshot(limit).map((entry) => ({
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
        p999_ms: entry.p999Ms,
        max_ms: entry.maxMs,
      })),
      cache: capabilities.cache ? cacheForDashboard(qo.cache.stats()) : null,
      slow_queries: qo.monitor.slowLog.list({ limit: DASHBOARD_SLOW_QUERIES }).map(slowQueryView),
      alerts: qo.monitor.alerts.active().map(alertView),
      recommendations: recommendationsView(insights),
      rewrites: rewritesView(qo.autoRewriter?.summaries() ?? [], insights),
      unavailable: missing,
    };
  };
  const recent = new RecentValues<z.infer<typeof dashboardResponse>>(config.server.dashboardMaxAgeMs);
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
      summary: 'Slow query log: executions slower than min_duration_ms (and the log threshold), newest first, with sampled plans and parameters (redacted unless configured), a summary per query shape, and the N+1 findings',
      tag: 'performance',
      auth: false,
      querystring: slowQueriesQuery,
      response: slowQueriesResponse,
      async handler({ query }) {
        const entries = qo.monitor.slowLog.list().filter((entry) => entry.durationMs >= query.min_duration_ms);
        const shapes = new Map<string, { fingerprint: string; normalized: string; count: number; total_ms: number; max_ms: number }>();
        for (const entry of entries) {
          const shape = shapes.get(entry.fingerprint) ?? { fingerprint: entry.fingerprint, normalized: entry.normalized, count: 0, total_ms: 0, max_ms: 0 };
          shape.count += 1;
          shape.total_ms += entry.durationMs;
          shape.max_ms = Math.max(shape.max_ms, entry.durationMs);
          shapes.set(entry.fingerprint, shape);
        }
        return {
          log_threshold_ms: qo.monitor.slowLog.thresholdMs,
          min_duration_ms: query.min_duration_ms,
          total: entries.length,
          queries: entries.slice(0, query.limit).map(slowQueryView),
          by_query: [...shapes.values()].sort((a, b) => b.total_ms - a.total_ms).map((shape) => ({ ...shape, mean_ms: shape.total_ms / shape.count })),
          // N+1 loops found in the traffic: the batched statement and the loader call that replace each.
          n_plus_one: qo.monitor.nPlusOne.list(),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/performance/create-alert',
      summary: 'Creates an alert rule on a metric; it is evaluated at once and then every few seconds (log and webhook on fire / resolve)',
      tag: 'performance',
      auth: true,
      body: createAlertBody,
      response: createAlertResponse,
      async handler({ body }) {
        const rule = { id: randomUUID(), ...body };
        qo.monitor.alerts.addRule(rule);
        const firing = qo.monitor.alerts.evaluate().some((event) => event.ruleId === rule.id && event.status === 'firing');
        return { rule, firing: firing || qo.monitor.alerts.active().some((alert) => alert.ruleId === rule.id) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/performance/alerts',
      summary: 'Alerts firing now with their evidence, and the anomaly detector’s open anomalies (active_only=false adds the rules, the fire / resolve history and resolved anomalies)',
      tag: 'performance',
      auth: false,
      querystring: alertsQuery,
      response: alertsResponse,
      async handler({ query }) {
        const active = qo.monitor.alerts.active().map(alertView);
        if (query.active_only) return { active, anomalies: qo.monitor.anomalies.active() };
        return { active, anomalies: qo.monitor.anomalies.list(), rules: qo.monitor.alerts.listRules(), events: qo.monitor.alerts.events() };
      },
    }),
  ];
}
