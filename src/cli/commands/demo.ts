import type { Command } from 'commander';
import { workloads } from '../../../bench/workloads/index.js';
import { formatDemoReport, runDemo } from '../demo/runDemo.js';
import type { DemoReport } from '../demo/runDemo.js';
import { randomApiToken, serveUntilStopped } from '../../server/serveUntilStopped.js';
import { portNumber } from './serve.js';
import { databaseUrlOf, positiveInteger, positiveNumber, printJson, withDatabaseOption } from '../options.js';
import { terminalProgress } from '../progress.js';

const DEFAULT_SCALE = 0.05;
const DEFAULT_ITERATIONS = 8;

/** `qopt demo` (what `npm start` runs): a seed workload through qopt, and the report. */
export function registerDemo(program: Command): void {
  withDatabaseOption(
    program
      .command('demo')
      .description('load a seed workload, run its queries through qopt and print the report (embedded database by default)')
      .option('--workload <name>', `seed workload (${workloads.map((workload) => workload.name).join(', ')})`, 'sheets')
      .option('--scale <s>', 'scale factor of the data', positiveNumber, DEFAULT_SCALE)
      .option('--iterations <n>', 'runs of each query', positiveInteger, DEFAULT_ITERATIONS)
      .option('--reload', 'regenerate the data even when it is already loaded')
      .option('--json', 'print the report as JSON')
      .option('--serve', 'then keep the service running (dashboard at /) until Ctrl+C')
      .option('--port <n>', 'port of --serve (default 8080; 0 picks a free one)', portNumber),
  ).action(async (options: { workload: string; scale: number; iterations: number; database?: string; reload?: boolean; json?: boolean; serve?: boolean; port?: number }) => {
    const token = options.serve ? (process.env.QOPT_API_TOKEN ?? randomApiToken()) : undefined;
    const print = (report: DemoReport) => (options.json ? printJson(report) : process.stdout.write(formatDemoReport(report)));
    const report = await runDemo({
      workload: options.workload,
      scale: options.scale,
      iterations: options.iterations,
      database: databaseUrlOf(options),
      reload: Boolean(options.reload),
      progress: terminalProgress(),
      log: (message) => process.stderr.write(`${message}\n`),
      optimizer: token ? { server: { apiToken: token } } : {},
      afterReport: options.serve
        ? async (qo, finished) => {
            print(finished);
            if (!process.env.QOPT_API_TOKEN) process.stderr.write(`API token for this demo service: ${token}\n`);
            await serveUntilStopped(qo, { port: options.port, log: (message) => process.stderr.write(`${message}\n`) });
          }
        : undefined,
    });
    if (!options.serve) print(report);
  });
}
