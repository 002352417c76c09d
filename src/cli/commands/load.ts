import type { Command } from 'commander';
import { runLoad } from '../../../bench/loadGenerator.js';
import type { LatencySummary, LoadReport } from '../../../bench/loadGenerator.js';
import { isWorkloadLoaded, loadWorkload, workloadByName, workloads } from '../../../bench/workloads/index.js';
import { createOptimizer } from '../../optimizer.js';
import { databaseUrlOf, positiveInteger, positiveNumber, printJson, withDatabaseOption } from '../options.js';
import { terminalProgress } from '../progress.js';

interface LoadCommandOptions {
  workload: string;
  scale: number;
  rate: number;
  duration: number;
  concurrency: number;
  pool: number;
  maxConcurrent?: number;
  high: number;
  low: number;
  database?: string;
  json?: boolean;
}

function line(label: string, latency: LatencySummary): string {
  const ms = (value: number) => value.toFixed(2).padStart(9);
  return `  ${label.padEnd(22)} n=${String(latency.count).padStart(7)}  p50 ${ms(latency.p50)}  p99 ${ms(latency.p99)}  p99.9 ${ms(latency.p999)}  max ${ms(latency.max)} ms`;
}

function formatReport(report: LoadReport): string {
  const failures = Object.entries(report.failed).map(([code, count]) => `${code} ${count}`).join(', ') || 'none';
  return [
    `open model: ${report.rate}/s for ${report.durationSeconds} s, at most ${report.concurrency} callers in flight`,
    `  scheduled ${report.scheduled}, succeeded ${report.succeeded}, failed: ${failures}; lost ${report.lost}, duplicated ${report.duplicated}`,
    `  achieved ${report.achievedPerSecond.toFixed(0)}/s; peak in flight ${report.peakInFlight}, peak executor queue ${report.peakExecutorQueue}`,
    `  executor slot wait: p50 ${report.executorWaitMs.p50.toFixed(2)} ms, p99 ${report.executorWaitMs.p99.toFixed(2)} ms, max ${report.executorWaitMs.max.toFixed(2)} ms`,
    `  resident memory: ${report.rssStartMb.toFixed(0)} MB at start, ${report.rssPeakMb.toFixed(0)} MB peak`,
    'latency from the intended start (coordinated-omission corrected):',
    line('all', report.latency),
    line('high priority', report.byPriority.high),
    line('normal priority', report.byPriority.normal),
    line('low priority', report.byPriority.low),
    'service time from the actual send (what a closed loop would report):',
    line('all', report.serviceTime),
    line('high priority', report.serviceByPriority.high),
    line('normal priority', report.serviceByPriority.normal),
    line('low priority', report.serviceByPriority.low),
  ].join('\n');
}

/** `qopt load`: constant-arrival-rate traffic of a workload's queries through the executor, with corrected percentiles. */
export function registerLoad(program: Command): void {
  withDatabaseOption(
    program
      .command('load')
      .description('open-model load: a constant arrival rate of a workload’s queries through qopt; coordinated-omission-corrected p50/p99/p99.9/max')
      .option('--workload <name>', `workload (${workloads.map((workload) => workload.name).join(', ')})`, 'market')
      .option('--scale <s>', 'workload scale; loaded first when the tables do not match it', positiveNumber, 0.05)
      .option('--rate <n>', 'arrivals per second', positiveNumber, 2000)
      .option('--duration <s>', 'seconds of arrivals', positiveNumber, 10)
      .option('--concurrency <n>', 'callers: most requests in flight at once', positiveInteger, 500)
      .option('--pool <n>', 'database connections (database.poolMax)', positiveInteger, 8)
      .option('--max-concurrent <n>', 'executor.maxConcurrentQueries (default: the pool size)', positiveInteger)
      .option('--high <share>', 'share of arrivals at high priority', Number, 0.1)
      .option('--low <share>', 'share of arrivals at low priority', Number, 0.2)
      .option('--json', 'print the report as JSON'),
  ).action(async (options: LoadCommandOptions) => {
    const workload = workloadByName(options.workload);
    const qo = await createOptimizer({
      database: { url: databaseUrlOf(options), poolMax: options.pool },
      executor: { maxConcurrentQueries: options.maxConcurrent ?? options.pool, deduplicateReads: false },
    });
    try {
      if (!(await isWorkloadLoaded(qo.driver, workload, options.scale))) {
        process.stderr.write(`loading ${workload.name} at scale ${options.scale} into ${qo.driver.target}\n`);
        await loadWorkload(qo.driver, workload, options.scale, terminalProgress());
        for (const statement of workload.seedIndexes) await qo.driver.exec(statement);
      }
      const report = await runLoad(qo, workload, workload.sizes(options.scale), {
        rate: options.rate,
        durationSeconds: options.duration,
        concurrency: options.concurrency,
        highShare: options.high,
        lowShare: options.low,
        seed: 1,
      });
      if (options.json) printJson(report);
      else process.stdout.write(`${formatReport(report)}\n`);
    } finally {
      await qo.close();
    }
  });
}
