import type { Command } from 'commander';
import { openDriver } from '../../db/openDriver.js';
import { topQueries } from '../../monitor/pgStatStatements.js';
import type { TopQueryInput, TopReport } from '../../monitor/pgStatStatements.js';
import { analyzeSql } from '../../sql/analyze.js';
import type { Fingerprint } from '../../sql/analyze.js';
import { openMonitorSession, serviceOf, withMonitorOptions } from '../monitorSession.js';
import { fetchServiceReport } from '../serviceClient.js';
import type { MonitorCommandOptions } from '../monitorSession.js';
import { positiveInteger, printJson } from '../options.js';
import { ms, textTable } from '../table.js';

function shorten(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

/** The `qopt top` table. */
export function formatTop(report: TopReport): string {
  const dash = '—';
  const rows = report.rows.map((row) => [
    shorten(row.query, 60),
    row.server ? String(row.server.calls) : dash,
    row.server ? ms(row.server.totalMs) : dash,
    row.server ? ms(row.server.meanMs) : dash,
    row.server?.sharedHitRatio != null ? `${(row.server.sharedHitRatio * 100).toFixed(1)}%` : dash,
    row.qopt ? String(row.qopt.calls) : dash,
    row.qopt ? ms(row.qopt.p50Ms) : dash,
    row.qopt ? ms(row.qopt.p95Ms) : dash,
    row.qopt ? ms(row.qopt.p99Ms) : dash,
    row.qopt ? ms(row.qopt.p999Ms) : dash,
  ]);
  const table = textTable(['query', 'calls', 'total ms', 'mean ms', 'buffer hit', 'qopt calls', 'p50 ms', 'p95 ms', 'p99 ms', 'p99.9 ms'], rows);
  return [`source: ${report.source}`, ...(report.note ? [`note: ${report.note}`] : []), '', table].join('\n');
}

interface DashboardRow {
  fingerprint: string;
  normalized: string;
  calls: number;
  errors: number;
  total_ms: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
}

/** A running service's statistics by total time (its dashboard rows), merged with pg_stat_statements when `--database` is given. */
async function serviceTop(service: string, options: MonitorCommandOptions & { limit: number; install?: boolean }): Promise<TopReport> {
  const dashboard = await fetchServiceReport<{ queries: DashboardRow[] }>(service, `/performance/dashboard?limit=${Math.min(options.limit, 500)}`);
  const stats: TopQueryInput[] = dashboard.queries.map((row) => ({
    fingerprint: row.fingerprint as Fingerprint,
    normalized: row.normalized,
    calls: row.calls,
    errors: row.errors,
    totalMs: row.total_ms,
    p50Ms: row.p50_ms,
    p95Ms: row.p95_ms,
    p99Ms: row.p99_ms,
    p999Ms: row.p999_ms,
    maxMs: row.max_ms,
  }));
  if (options.database === undefined) {
    const report = await topQueries(null, stats, analyzeSql, { limit: options.limit });
    return { ...report, note: `from the service at ${service}; pass --database postgres://… (the service's database) to merge pg_stat_statements` };
  }
  const driver = await openDriver(options.database);
  try {
    return await topQueries(driver, stats, analyzeSql, { limit: options.limit, install: options.install });
  } finally {
    await driver.close();
  }
}

/** `qopt top`: the server's pg_stat_statements merged with qopt's real percentiles by fingerprint. */
export function registerTop(program: Command): void {
  withMonitorOptions(
    program
      .command('top')
      .description("top statements by total time: pg_stat_statements (calls, total/mean time, rows, buffer hit ratio) merged with qopt's p50/p95/p99/p99.9")
      .option('--limit <n>', 'rows to show', positiveInteger, 20)
      .option('--install', 'run CREATE EXTENSION pg_stat_statements when the library is preloaded but the extension is missing'),
  ).action(async (options: MonitorCommandOptions & { limit: number; install?: boolean }) => {
    const service = serviceOf(options);
    if (service !== undefined) {
      const report = await serviceTop(service, options);
      if (options.json) printJson(report);
      else process.stdout.write(`${formatTop(report)}\n`);
      return;
    }
    const { qo } = await openMonitorSession(options);
    try {
      const report = await topQueries(qo.driver, qo.recorder.snapshot(), (sql) => qo.analyze(sql), { limit: options.limit, install: options.install });
      if (options.json) printJson(report);
      else process.stdout.write(`${formatTop(report)}\n`);
    } finally {
      await qo.close();
    }
  });
}
