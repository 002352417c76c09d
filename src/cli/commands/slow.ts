import type { Command } from 'commander';
import type { NPlusOneFinding } from '../../monitor/nPlusOne.js';
import { openMonitorSession, serviceOf, withMonitorOptions } from '../monitorSession.js';
import type { MonitorCommandOptions } from '../monitorSession.js';
import { fetchServiceReport } from '../serviceClient.js';
import { positiveInteger, positiveNumber, printJson } from '../options.js';
import { ms, textTable } from '../table.js';

interface ServiceSlowQueries {
  log_threshold_ms: number;
  total: number;
  queries: Array<{ at: string; duration_ms: number; rows: number; normalized: string; params: unknown[]; plan: { node_type: string; total_cost: number } | null }>;
  n_plus_one?: NPlusOneFinding[];
}

function slowTable(entries: ReadonlyArray<{ at: number | string; durationMs: number; rows: number; normalized: string; params: readonly unknown[]; plan: string }>): string {
  const rows = entries.map((entry) => [new Date(entry.at).toISOString().slice(11, 23), ms(entry.durationMs), String(entry.rows), entry.normalized.replace(/\s+/g, ' ').slice(0, 70), entry.params.join(', '), entry.plan]);
  return textTable(['time', 'ms', 'rows', 'query', 'params', 'plan'], rows, new Set([0, 3, 4, 5]));
}

function findingLines(findings: readonly NPlusOneFinding[]): string[] {
  const lines: string[] = [];
  for (const finding of findings) {
    lines.push('', finding.description);
    if (finding.batchedSql) lines.push(`  batched: ${finding.batchedSql}`, `  loader:  ${finding.loaderCall}`);
    if (finding.loaderUnavailableReason) lines.push(`  (no qo.loader call: ${finding.loaderUnavailableReason})`);
  }
  return lines;
}

/** What a running service's slow log and N+1 detector hold. */
async function serviceSlow(service: string, options: MonitorCommandOptions & { threshold?: number; limit: number }): Promise<void> {
  const report = await fetchServiceReport<ServiceSlowQueries>(service, `/performance/slow-queries?limit=${options.limit}&min_duration_ms=${options.threshold ?? 0}`);
  if (options.json) return printJson(report);
  const lines = [`the service at ${service}: ${report.total} slow executions logged (its threshold ${report.log_threshold_ms} ms)`];
  const entries = report.queries.map((entry) => ({ at: entry.at, durationMs: entry.duration_ms, rows: entry.rows, normalized: entry.normalized, params: entry.params, plan: entry.plan ? `${entry.plan.node_type} (cost ${entry.plan.total_cost})` : '—' }));
  lines.push('', entries.length > 0 ? slowTable(entries) : 'no slow executions', ...findingLines(report.n_plus_one ?? []));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `qopt slow`: slow executions (parameters redacted, sampled plans) and N+1 findings of the observed run. */
export function registerSlow(program: Command): void {
  withMonitorOptions(
    program
      .command('slow')
      .description('slow-query log (over --threshold ms, parameters redacted, one sampled EXPLAIN per fingerprint) and N+1 findings')
      .option('--threshold <ms>', 'slow-query threshold (default: SLOW_QUERY_THRESHOLD_MS or 1000)', positiveNumber)
      .option('--limit <n>', 'entries to show', positiveInteger, 20),
  ).action(async (options: MonitorCommandOptions & { threshold?: number; limit: number }) => {
    const service = serviceOf(options);
    if (service !== undefined) return serviceSlow(service, options);
    const overrides = options.threshold === undefined ? {} : { monitor: { slowQueryThresholdMs: options.threshold } };
    const { qo, ran } = await openMonitorSession(options, overrides);
    try {
      await qo.monitor.slowLog.settle();
      const slow = qo.monitor.slowLog.list({ limit: options.limit });
      const nPlusOne = qo.monitor.nPlusOne.list();
      if (options.json) {
        printJson({ executionsObserved: ran, thresholdMs: qo.monitor.slowLog.thresholdMs, slow, nPlusOne });
        return;
      }
      const lines = [`observed ${ran} executions; slow threshold ${qo.monitor.slowLog.thresholdMs} ms`];
      if (ran === 0) lines.push('nothing observed in this process: pass --workload NAME (after qopt load-workload NAME), or --service URL to read a running service');
      const entries = slow.map((entry) => ({ ...entry, plan: entry.explain ? `${entry.explain.nodeType} (cost ${entry.explain.totalCost})` : '—' }));
      lines.push('', entries.length > 0 ? slowTable(entries) : 'no slow executions', ...findingLines(nPlusOne));
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      await qo.close();
    }
  });
}
