import { cpus, totalmem } from 'node:os';
import { z } from 'zod';
import { AlertRuleError } from './errors.js';
import { LogLinearHistogram } from './histogram.js';
import { QueryRecorder } from './recorder.js';
import type { FingerprintStats, WindowCounters, WindowMinutes } from './recorder.js';

/** Fingerprints an alert event names as evidence. */
const EVIDENCE = 3;

/** The metrics an alert rule can watch (the seed's `metric_type`). */
export const ALERT_METRICS = [
  'execution_time',
  'p95_latency',
  'p99_latency',
  'slow_query_percentage',
  'error_rate',
  'cache_hit_rate',
  'memory_usage_percentage',
  'cpu_usage_percentage',
] as const;
/** One of ALERT_METRICS. */
export type AlertMetric = (typeof ALERT_METRICS)[number];
/** The seed's `comparison_operator`s. */
export const COMPARISON_OPERATORS = ['>', '>=', '<', '<='] as const;
/** One of COMPARISON_OPERATORS. */
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];
/** The seed's `severity`s. */
export const ALERT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
/** One of ALERT_SEVERITIES. */
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

const isPositiveInteger = { error: 'min_occurrences must be a positive integer' };

/**
 * An alert rule with the seed's field names: the one definition behind `AlertRule`, `validateAlertRule`
 * and the body of `POST /performance/create-alert`. Its messages are the ones `AlertRuleError` carries.
 */
export const alertRuleSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  metric_type: z
    .enum(ALERT_METRICS, { error: (issue) => `unknown metric_type "${String(issue.input)}" (one of ${ALERT_METRICS.join(', ')})` })
    .describe('ms for execution_time / p95_latency / p99_latency, percent for the rates and process metrics'),
  comparison_operator: z.enum(COMPARISON_OPERATORS, { error: (issue) => `unknown comparison_operator "${String(issue.input)}" (>, >=, < or <=)` }),
  window_minutes: z
    .union([z.literal(1), z.literal(5), z.literal(60)], { error: (issue) => `window_minutes must be 1, 5 or 60 (the recorder's windows), got ${String(issue.input)}` })
    .describe("the recorder's rolling windows"),
  threshold_value: z.number({ error: 'threshold_value must be a number' }),
  min_occurrences: z
    .number(isPositiveInteger)
    .int(isPositiveInteger)
    .min(1, isPositiveInteger)
    .describe(
      'execution_time: executions beyond the threshold needed in the window; rates and percentiles: calls (or cache lookups) needed in the window before the rule is judged; process metrics: consecutive evaluations beyond the threshold',
    ),
  severity: z.enum(ALERT_SEVERITIES, { error: (issue) => `unknown severity "${String(issue.input)}" (${ALERT_SEVERITIES.join(', ')})` }),
  fingerprint: z.string().optional().describe('restrict the rule to one query shape'),
});

/** An alert rule (`POST /performance/create-alert`, `qo.monitor.alerts.addRule`). */
export type AlertRule = z.infer<typeof alertRuleSchema>;

/** A rule's state change, with what made it fire. */
export interface AlertEvent {
  ruleId: string;
  ruleName: string;
  status: 'firing' | 'resolved';
  severity: AlertSeverity;
  metric_type: AlertMetric;
  value: number;
  threshold_value: number;
  comparison_operator: ComparisonOperator;
  window_minutes: AlertRule['window_minutes'];
  occurrences: number;
  at: number;
  /** True for a resolve because the window had no traffic left to judge (its evidence is then empty). */
  noTraffic: boolean;
  /** The fingerprints that contributed most, with their window statistics. */
  evidence: Array<Pick<FingerprintStats, 'fingerprint' | 'normalized' | 'calls' | 'errors' | 'slow' | 'p95Ms' | 'p99Ms'>>;
  message: string;
}

/** An alert currently firing. */
export interface ActiveAlert extends AlertEvent {
  since: number;
}

/** Where alert events go besides the in-memory log. */
export interface AlertDelivery {
  /** Called with every event (a logger line by default). */
  log?: (event: AlertEvent) => void;
  /** Fired and resolved events are POSTed here as JSON. */
  webhookUrl?: string;
  /** Webhook timeout. */
  webhookTimeoutMs?: number;
}

/** The seed's default thresholds (PERFORMANCE_ALERT_THRESHOLDS), as percentages. */
export interface DefaultThresholds {
  slowQueryPercentage: number;
  errorRatePercentage: number;
  memoryUsagePercentage: number;
  cpuUsagePercentage: number;
  cacheHitRateMinimum: number;
}

/** Rules built from the seed's default thresholds. */
export function defaultAlertRules(thresholds: DefaultThresholds): AlertRule[] {
  return [
    { id: 'default-slow-queries', name: 'slow query share', metric_type: 'slow_query_percentage', threshold_value: thresholds.slowQueryPercentage, comparison_operator: '>', window_minutes: 5, min_occurrences: 20, severity: 'high' },
    { id: 'default-error-rate', name: 'error rate', metric_type: 'error_rate', threshold_value: thresholds.errorRatePercentage, comparison_operator: '>', window_minutes: 5, min_occurrences: 20, severity: 'high' },
    { id: 'default-cache-hit-rate', name: 'cache hit rate', metric_type: 'cache_hit_rate', threshold_value: thresholds.cacheHitRateMinimum, comparison_operator: '<', window_minutes: 5, min_occurrences: 50, severity: 'medium' },
    { id: 'default-memory', name: 'memory usage', metric_type: 'memory_usage_percentage', threshold_value: thresholds.memoryUsagePercentage, comparison_operator: '>', window_minutes: 1, min_occurrences: 3, severity: 'high' },
    { id: 'default-cpu', name: 'CPU usage', metric_type: 'cpu_usage_percentage', threshold_value: thresholds.cpuUsagePercentage, comparison_operator: '>', window_minutes: 1, min_occurrences: 3, severity: 'medium' },
  ];
}

// The rule's fields, and nothing else: what the rule lists and the API answer are the schema's fields.
function parseAlertRule(rule: AlertRule): AlertRule {
  const result = alertRuleSchema.safeParse(rule);
  if (!result.success) throw new AlertRuleError(result.error.issues[0]!.message);
  return result.data;
}

/** Throws AlertRuleError when a rule cannot be evaluated (the first problem, by field). */
export function validateAlertRule(rule: AlertRule): void {
  parseAlertRule(rule);
}

function compare(value: number, operator: ComparisonOperator, threshold: number): boolean {
  switch (operator) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/** Whether a window can be judged: enough samples, some but too few, or none at all. */
type Judgement = 'judged' | 'too few samples' | 'no traffic';

interface Measurement {
  value: number;
  /** Occurrences (or samples) backing the value. */
  occurrences: number;
  judgement: Judgement;
  evidence: FingerprintStats[];
}

function judgementOf(samples: number, needed: number): Judgement {
  if (samples === 0) return 'no traffic';
  return samples >= needed ? 'judged' : 'too few samples';
}

/** Settings of the alert manager. */
export interface AlertManagerOptions {
  /**
   * A firing rule resolves only after its condition has stayed clear this long (default one
   * minute): the recorder's windows move a minute at a time, and a window that has just dropped
   * its oldest minute can dip under a rule for a moment while the problem goes on.
   */
  resolveAfterClearMs?: number;
}

/** The default of `AlertManagerOptions.resolveAfterClearMs`: one recorder slot. */
export const DEFAULT_RESOLVE_AFTER_CLEAR_MS = 60_000;

/**
 * Evaluates alert rules against the recorder's rolling windows (and the process for memory / CPU),
 * keeps the firing ones, and delivers every fire and resolve to the log and an optional webhook.
 */
export class AlertManager {
  private readonly rules = new Map<string, AlertRule>();
  private readonly firing = new Map<string, ActiveAlert>();
  private readonly streaks = new Map<string, number>();
  private readonly history: AlertEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastCpu = process.cpuUsage();
  private lastCpuAt = performance.now();
  /** Webhook deliveries that failed (counted, never thrown into the query path). */
  deliveryFailures = 0;
  lastDeliveryError: string | null = null;
  private readonly pending = new Set<Promise<void>>();
  private readonly windows = new Map<WindowMinutes, WindowCounters[]>();
  /** When each firing rule was last seen beyond its threshold. */
  private readonly lastBreachAt = new Map<string, number>();
  private readonly resolveAfterClearMs: number;

  constructor(
    private readonly recorder: QueryRecorder,
    private readonly delivery: AlertDelivery = {},
    options: AlertManagerOptions = {},
  ) {
    this.resolveAfterClearMs = options.resolveAfterClearMs ?? DEFAULT_RESOLVE_AFTER_CLEAR_MS;
  }

  /** Adds or replaces a rule (validated; fields outside the rule's schema are not kept). */
  addRule(rule: AlertRule): void {
    const parsed = parseAlertRule(rule);
    this.rules.set(parsed.id, parsed);
  }

  /** Removes a rule and its firing alert. */
  removeRule(id: string): boolean {
    this.firing.delete(id);
    this.streaks.delete(id);
    this.lastBreachAt.delete(id);
    return this.rules.delete(id);
  }

  /** Every rule. */
  listRules(): AlertRule[] {
    return [...this.rules.values()];
  }

  /** Alerts firing now. */
  active(): ActiveAlert[] {
    return [...this.firing.values()];
  }

  /** Every fire and resolve so far (newest last, at most 1000). */
  events(): AlertEvent[] {
    return [...this.history];
  }

  /** Evaluates every rule at `now`; returns the events it produced. */
  evaluate(now: number = Date.now()): AlertEvent[] {
    const produced: AlertEvent[] = [];
    // Rules sharing a window share one pass over the recorder: with 10,000 fingerprints a pass is the cost.
    this.windows.clear();
    for (const rule of this.rules.values()) {
      const measurement = this.measure(rule, now);
      const breached = measurement.judgement === 'judged' && this.breached(rule, measurement);
      const open = this.firing.get(rule.id);
      if (breached) {
        this.lastBreachAt.set(rule.id, now);
        if (open) continue;
        const event = this.event(rule, 'firing', measurement, now);
        this.firing.set(rule.id, { ...event, since: now });
        produced.push(event);
        continue;
      }
      // A window with too few samples says nothing either way; one without traffic has nothing left to alert on.
      if (!open || measurement.judgement === 'too few samples') continue;
      if (now - (this.lastBreachAt.get(rule.id) ?? open.since) < this.resolveAfterClearMs) continue;
      produced.push(this.event(rule, 'resolved', measurement, now));
      this.firing.delete(rule.id);
      this.lastBreachAt.delete(rule.id);
    }
    for (const event of produced) this.deliver(event);
    return produced;
  }

  /** Evaluates every `intervalMs` until `stop()` (the timer never keeps the process alive). */
  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => this.evaluate(), intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for webhook deliveries in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.pending]);
  }

  private breached(rule: AlertRule, measurement: Measurement): boolean {
    if (rule.metric_type === 'execution_time') return measurement.occurrences >= rule.min_occurrences;
    const beyond = compare(measurement.value, rule.comparison_operator, rule.threshold_value);
    if (rule.metric_type !== 'memory_usage_percentage' && rule.metric_type !== 'cpu_usage_percentage') return beyond;
    const streak = beyond ? (this.streaks.get(rule.id) ?? 0) + 1 : 0;
    this.streaks.set(rule.id, streak);
    return streak >= rule.min_occurrences;
  }

  private measure(rule: AlertRule, now: number): Measurement {
    const window = rule.window_minutes;
    switch (rule.metric_type) {
      case 'memory_usage_percentage':
        return { value: (process.memoryUsage().rss / totalmem()) * 100, occurrences: 1, judgement: 'judged', evidence: [] };
      case 'cpu_usage_percentage':
        return { value: this.cpuPercent(), occurrences: 1, judgement: 'judged', evidence: [] };
      default:
        return this.measureQueries(rule, window, now);
    }
  }

  // Counters of every fingerprint (no histogram merged); percentiles only for the three shown as evidence.
  // At 10,000 fingerprints merging each one's window took ~0.3 s per evaluation, every few seconds.
  private measureQueries(rule: AlertRule, window: WindowMinutes, now: number): Measurement {
    let all = this.windows.get(window);
    if (!all) {
      all = this.recorder.windowCounters(window, now);
      this.windows.set(window, all);
    }
    const entries = all.filter((entry) => rule.fingerprint === undefined || entry.fingerprint === rule.fingerprint);
    const calls = entries.reduce((sum, entry) => sum + entry.calls, 0);
    const judgement = judgementOf(calls, rule.min_occurrences);
    const topBy = (score: (entry: WindowCounters) => number): FingerprintStats[] =>
      entries
        .filter((entry) => score(entry) > 0)
        .sort((a, b) => score(b) - score(a))
        .slice(0, EVIDENCE)
        .map((entry) => entry.stats());
    switch (rule.metric_type) {
      case 'execution_time': {
        let occurrences = 0;
        const matching = new Map<WindowCounters, number>();
        const limit = [rule.threshold_value];
        for (const entry of entries) {
          const atOrBelow = [0];
          entry.addLatencyCountsAtOrBelow(limit, atOrBelow);
          const count = rule.comparison_operator.startsWith('>') ? entry.calls - atOrBelow[0]! : atOrBelow[0]!;
          occurrences += count;
          if (count > 0) matching.set(entry, count);
        }
        // min_occurrences counts the slow executions here, so any traffic can be judged.
        return { value: occurrences, occurrences, judgement: calls === 0 ? 'no traffic' : 'judged', evidence: topBy((entry) => matching.get(entry) ?? 0) };
      }
      case 'p95_latency':
      case 'p99_latency': {
        const merged = new LogLinearHistogram(QueryRecorder.precisionOf(window));
        for (const entry of entries) entry.mergeLatencyInto(merged);
        const value = merged.quantile(rule.metric_type === 'p95_latency' ? 0.95 : 0.99);
        return { value, occurrences: calls, judgement, evidence: topBy((entry) => entry.totalMs) };
      }
      case 'slow_query_percentage': {
        const slow = entries.reduce((sum, entry) => sum + entry.slow, 0);
        return { value: calls === 0 ? 0 : (slow / calls) * 100, occurrences: calls, judgement, evidence: topBy((entry) => entry.slow) };
      }
      case 'error_rate': {
        const errors = entries.reduce((sum, entry) => sum + entry.errors, 0);
        return { value: calls === 0 ? 0 : (errors / calls) * 100, occurrences: calls, judgement, evidence: topBy((entry) => entry.errors) };
      }
      case 'cache_hit_rate': {
        const hits = entries.reduce((sum, entry) => sum + entry.cacheHits, 0);
        const lookups = hits + entries.reduce((sum, entry) => sum + entry.cacheMisses, 0);
        return { value: lookups === 0 ? 100 : (hits / lookups) * 100, occurrences: lookups, judgement: judgementOf(lookups, rule.min_occurrences), evidence: topBy((entry) => entry.cacheMisses) };
      }
      default:
        throw new AlertRuleError(`metric_type ${rule.metric_type} is not a query metric`);
    }
  }

  private cpuPercent(): number {
    const usage = process.cpuUsage(this.lastCpu);
    const elapsedMs = performance.now() - this.lastCpuAt;
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = performance.now();
    if (elapsedMs <= 0) return 0;
    return ((usage.user + usage.system) / 1000 / elapsedMs / cpus().length) * 100;
  }

  private event(rule: AlertRule, status: AlertEvent['status'], measurement: Measurement, now: number): AlertEvent {
    const name = rule.name ?? rule.id;
    const value = Math.round(measurement.value * 100) / 100;
    const scope = rule.fingerprint ? ` for ${rule.fingerprint}` : '';
    const noTraffic = measurement.judgement === 'no traffic';
    const condition = noTraffic
      ? `no ${rule.metric_type === 'cache_hit_rate' ? 'cache lookups' : 'calls'} left to judge`
      : rule.metric_type === 'execution_time'
      ? `${measurement.occurrences} executions ${rule.comparison_operator} ${rule.threshold_value} ms (need ${rule.min_occurrences})`
      : `${rule.metric_type} = ${value} ${status === 'firing' ? '' : 'no longer '}${rule.comparison_operator} ${rule.threshold_value}`;
    return {
      ruleId: rule.id,
      ruleName: name,
      status,
      severity: rule.severity,
      metric_type: rule.metric_type,
      value,
      threshold_value: rule.threshold_value,
      comparison_operator: rule.comparison_operator,
      window_minutes: rule.window_minutes,
      occurrences: measurement.occurrences,
      at: now,
      noTraffic,
      evidence: measurement.evidence.map(({ fingerprint, normalized, calls, errors, slow, p95Ms, p99Ms }) => ({ fingerprint, normalized, calls, errors, slow, p95Ms, p99Ms })),
      message: `[${rule.severity}] ${name}${scope} ${status}: ${condition} over ${rule.window_minutes} min`,
    };
  }

  private deliver(event: AlertEvent): void {
    this.history.push(event);
    if (this.history.length > 1000) this.history.shift();
    this.delivery.log?.(event);
    const url = this.delivery.webhookUrl;
    if (!url) return;
    const sending = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(this.delivery.webhookTimeoutMs ?? 5000),
    })
      .then((response) => {
        if (!response.ok) throw new Error(`webhook answered ${response.status}`);
      })
      .catch((error: unknown) => {
        this.deliveryFailures += 1;
        this.lastDeliveryError = error instanceof Error ? error.message : String(error);
      });
    const tracked = sending.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
