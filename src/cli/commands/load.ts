import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { loadInWorker } from '../../../bench/httpLoad.js';
import type { HttpLoadResult } from '../../../bench/httpLoad.js';
import { runLoad } from '../../../bench/loadGenerator.js';
import type { LatencySummary, LoadReport } from '../../../bench/loadGenerator.js';
import { isWorkloadLoaded, loadWorkload, workloadByName, workloads } from '../../../bench/workloads/index.js';
import { ConnectionError, UsageError } from '../../errors.js';
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
  url?: string;
  method?: string;
  body?: string;
  token?: string;
  header: string[];
  connections: number;
}

function header(value: string, previous: string[]): string[] {
  if (!/^[^:\s]+:/.test(value)) throw new InvalidArgumentError('expected name: value');
  return [...previous, value];
}

function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a URL such as http://127.0.0.1:8080/api/v1/query');
  }
  if (url.protocol !== 'http:') throw new InvalidArgumentError('only http:// URLs (the generator speaks plain HTTP/1.1)');
  return value;
}

function httpMethod(value: string): string {
  const method = value.toUpperCase();
  if (method !== 'GET' && method !== 'POST') throw new InvalidArgumentError('expected GET or POST');
  return method;
}

function formatHttpReport(url: string, connections: number, seconds: number, result: HttpLoadResult): string {
  const statuses = Object.entries(result.statuses).map(([status, count]) => `${status} ${count}`).join(', ') || 'none';
  return [
    `closed loop: ${connections} keep-alive connections for ${seconds} s against ${url}`,
    `  ${result.requests} answers (by status: ${statuses}); ${result.requestsPerSecond.toFixed(0)} req/s`,
    `  latency p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`,
  ].join('\n');
}

/** `qopt load --url`: keep-alive connections each sending the next request when the last one answered. */
async function runHttp(options: LoadCommandOptions & { url: string }): Promise<void> {
  const headers: Record<string, string> = {};
  for (const line of options.header) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const token = options.token ?? process.env.QOPT_API_TOKEN;
  if (token && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) {
    try {
      JSON.parse(options.body);
    } catch {
      throw new UsageError('--body must be JSON');
    }
    headers['content-type'] ??= 'application/json';
  }
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  let result: HttpLoadResult;
  try {
    result = await loadInWorker({ url: options.url, method: method as 'GET' | 'POST', headers, body: options.body, connections: options.connections, durationMs: options.duration * 1000 });
  } catch (error) {
    throw new ConnectionError(new URL(options.url).host, error);
  }
  if (options.json) printJson(result);
  else process.stdout.write(`${formatHttpReport(options.url, options.connections, options.duration, result)}\n`);
  if (result.statuses['429']) process.stderr.write('qopt load: the service answered 429: its rate limit per token stopped requests (qopt serve: QOPT_RATE_LIMIT_PER_MINUTE, 0 turns it off)\n');
  if (result.requests > 0 && result.failures === result.requests) {
    process.stderr.write(`qopt load: every answer was an error (${Object.keys(result.statuses).join(', ')}); check the URL, the method and the token\n`);
    process.exitCode = 1;
  }
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
      .description('open-model load: a constant arrival rate of a workload’s queries through qopt; coordinated-omission-corrected p50/p99/p99.9/max. With --url: closed-loop HTTP load on a running service (req/s, p50, p99)')
      .option('--workload <name>', `workload (${workloads.map((workload) => workload.name).join(', ')})`, 'market')
      .option('--scale <s>', 'workload scale; loaded first when the tables do not match it', positiveNumber, 0.05)
      .option('--rate <n>', 'arrivals per second', positiveNumber, 2000)
      .option('--duration <s>', 'seconds of arrivals', positiveNumber, 10)
      .option('--concurrency <n>', 'callers: most requests in flight at once', positiveInteger, 500)
      .option('--pool <n>', 'database connections (database.poolMax)', positiveInteger, 8)
      .option('--max-concurrent <n>', 'executor.maxConcurrentQueries (default: the pool size)', positiveInteger)
      .option('--high <share>', 'share of arrivals at high priority', Number, 0.1)
      .option('--low <share>', 'share of arrivals at low priority', Number, 0.2)
      .option('--json', 'print the report as JSON')
      .option('--url <url>', 'load a running HTTP service instead (e.g. qopt serve): closed loop on keep-alive connections', httpUrl)
      .option('--method <method>', 'with --url: GET or POST (default: POST when --body is given)', httpMethod)
      .option('--body <json>', 'with --url: the request body')
      .option('--token <token>', 'with --url: bearer token (default: $QOPT_API_TOKEN)')
      .option('--header <name:value>', 'with --url: a request header (repeatable)', header, [])
      .option('--connections <n>', 'with --url: connections, each with one request in flight', positiveInteger, 16),
  ).action(async (options: LoadCommandOptions) => {
    if (options.url !== undefined) return runHttp({ ...options, url: options.url });
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
