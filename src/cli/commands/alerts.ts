import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { AlertRule } from '../../monitor/alerts.js';
import type { Anomaly } from '../../monitor/anomaly.js';
import { openMonitorSession, serviceOf, withMonitorOptions } from '../monitorSession.js';
import type { MonitorCommandOptions } from '../monitorSession.js';
import { printJson } from '../options.js';
import { fetchServiceReport } from '../serviceClient.js';

function parseRule(text: string, previous: AlertRule[] = []): AlertRule[] {
  try {
    const rule = JSON.parse(text) as Partial<AlertRule>;
    return [...previous, { ...rule, id: rule.id ?? `cli-${previous.length + 1}` } as AlertRule];
  } catch {
    throw new UsageError(`--rule expects JSON with the seed's fields, e.g. '{"metric_type":"execution_time","threshold_value":500,"comparison_operator":">","window_minutes":5,"min_occurrences":3,"severity":"high"}'`);
  }
}

interface ServiceAlerts {
  active: Array<{ message: string; evidence: Array<{ fingerprint: string; p95Ms: number; normalized: string }> }>;
  anomalies: Anomaly[];
  rules: AlertRule[];
}

function reportLines(header: string, rules: readonly AlertRule[], firing: ServiceAlerts['active'], anomalies: readonly Anomaly[]): string[] {
  const lines = [`${header}; ${rules.length} rules`];
  for (const rule of rules) lines.push(`  ${rule.id}: ${rule.metric_type} ${rule.comparison_operator} ${rule.threshold_value} over ${rule.window_minutes} min (min ${rule.min_occurrences}, ${rule.severity})`);
  lines.push('', firing.length === 0 ? 'no alert firing' : 'firing:');
  for (const alert of firing) lines.push(`  ${alert.message}`, ...alert.evidence.map((entry) => `    ${entry.fingerprint}  p95 ${entry.p95Ms.toFixed(2)} ms  ${entry.normalized.slice(0, 70)}`));
  lines.push('', anomalies.length === 0 ? 'no anomaly (a baseline needs ≥ 10 one-minute intervals)' : 'anomalies:');
  for (const anomaly of anomalies) lines.push(`  ${anomaly.description}`);
  return lines;
}

/** `qopt alerts`: evaluates the default and given alert rules on the observed run; lists rules, firing alerts and anomalies. */
export function registerAlerts(program: Command): void {
  withMonitorOptions(
    program
      .command('alerts')
      .description("evaluate alert rules (the seed's defaults plus --rule JSON) on the observed run; show firing alerts and anomalies")
      .option('--rule <json>', 'an extra rule with the seed fields (repeatable)', parseRule, [] as AlertRule[]),
  ).action(async (options: MonitorCommandOptions & { rule: AlertRule[] }) => {
    const service = serviceOf(options);
    if (service !== undefined) {
      if (options.rule.length > 0) throw new UsageError('--rule adds a rule to this process; a running service takes new rules at POST /api/v1/performance/create-alert (with its token)');
      const report = await fetchServiceReport<ServiceAlerts>(service, '/performance/alerts?active_only=false');
      if (options.json) return printJson(report);
      process.stdout.write(`${reportLines(`the service at ${service}`, report.rules, report.active, report.anomalies).join('\n')}\n`);
      return;
    }
    const { qo, ran } = await openMonitorSession(options);
    try {
      for (const rule of options.rule) qo.monitor.alerts.addRule(rule);
      qo.monitor.maintain();
      qo.monitor.alerts.evaluate();
      const report = { executionsObserved: ran, rules: qo.monitor.alerts.listRules(), firing: qo.monitor.alerts.active(), anomalies: qo.monitor.anomalies.list() };
      if (options.json) {
        printJson(report);
        return;
      }
      process.stdout.write(`${reportLines(`observed ${ran} executions`, report.rules, report.firing, report.anomalies).join('\n')}\n`);
    } finally {
      await qo.close();
    }
  });
}
