import type { Command } from 'commander';
import { workloads } from '../../../bench/workloads/index.js';
import { formatDemoReport, runDemo } from '../demo/runDemo.js';
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
      .option('--json', 'print the report as JSON'),
  ).action(async (options: { workload: string; scale: number; iterations: number; database?: string; reload?: boolean; json?: boolean }) => {
    const report = await runDemo({
      workload: options.workload,
      scale: options.scale,
      iterations: options.iterations,
      database: databaseUrlOf(options),
      reload: Boolean(options.reload),
      progress: terminalProgress(),
      log: (message) => process.stderr.write(`${message}\n`),
    });
    if (options.json) printJson(report);
    else process.stdout.write(formatDemoReport(report));
  });
}
