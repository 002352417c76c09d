import type { Command } from 'commander';
import { openMonitorSession, withMonitorOptions } from '../monitorSession.js';
import type { MonitorCommandOptions } from '../monitorSession.js';
import { positiveInteger, positiveNumber, printJson } from '../options.js';
import { ms, textTable } from '../table.js';

/** `qopt slow`: slow executions (parameters redacted, sampled plans) and N+1 findings of the observed run. */
export function registerSlow(program: Command): void {
  withMonitorOptions(
    program
      .command('slow')
      .description('slow-query log (over --threshold ms, parameters redacted, one sampled EXPLAIN per fingerprint) and N+1 findings')
      .option('--threshold <ms>', 'slow-query threshold (default: SLOW_QUERY_THRESHOLD_MS or 1000)', positiveNumber)
      .option('--limit <n>', 'entries to show', positiveInteger, 20),
  ).action(async (options: MonitorCommandOptions & { threshold?: number; limit: number }) => {
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
      if (ran === 0) lines.push('nothing observed in this process: pass --workload NAME (after qopt load-workload NAME), or read a running service');
      if (slow.length > 0) {
        const rows = slow.map((entry) => [new Date(entry.at).toISOString().slice(11, 23), ms(entry.durationMs), String(entry.rows), entry.normalized.replace(/\s+/g, ' ').slice(0, 70), entry.params.join(', '), entry.explain ? `${entry.explain.nodeType} (cost ${entry.explain.totalCost})` : '—']);
        lines.push('', textTable(['time', 'ms', 'rows', 'query', 'params', 'plan'], rows, new Set([0, 3, 4, 5])));
      } else lines.push('', 'no slow executions');
      for (const finding of nPlusOne) {
        lines.push('', finding.description);
        if (finding.batchedSql) lines.push(`  batched: ${finding.batchedSql}`, `  loader:  ${finding.loaderCall}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      await qo.close();
    }
  });
}
