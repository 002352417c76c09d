import type { Command } from 'commander';
import { loadWorkload, workloadByName, workloads } from '../../../bench/workloads/index.js';
import { openDriver } from '../../db/openDriver.js';
import { databaseUrlOf, positiveNumber, printJson, withDatabaseOption } from '../options.js';
import { terminalProgress } from '../progress.js';

/** `qopt load-workload NAME`: creates a seed workload's naive schema and generates its data. */
export function registerLoadWorkload(program: Command): void {
  withDatabaseOption(
    program
      .command('load-workload')
      .description('create a seed workload (naive schema, primary keys only) and generate its data; drops its tables first')
      .argument('<name>', `workload (${workloads.map((workload) => workload.name).join(', ')})`)
      .option('--scale <s>', 'scale factor: 1 ≈ 3M cells (sheets), 5M prices (market), 2M executions (etl)', positiveNumber, 1)
      .option('--with-seed-indexes', "also create the indexes the seed document recommends (its 'after')")
      .option('--json', 'print the load report as JSON'),
  ).action(async (name: string, options: { scale: number; database?: string; json?: boolean; withSeedIndexes?: boolean }) => {
    const workload = workloadByName(name);
    const driver = await openDriver(databaseUrlOf(options));
    try {
      process.stderr.write(`loading ${workload.name} at scale ${options.scale} into ${driver.target}\n`);
      const report = await loadWorkload(driver, workload, options.scale, terminalProgress());
      if (options.withSeedIndexes) {
        for (const statement of workload.seedIndexes) await driver.exec(statement);
        await driver.exec(`ANALYZE ${workload.tables.join(', ')}`);
      }
      if (options.json) printJson(report);
      else {
        const total = Object.values(report.rows).reduce((sum, rows) => sum + rows, 0);
        process.stdout.write(`${workload.name}: ${total.toLocaleString('en-US')} rows in ${report.seconds.toFixed(1)} s\n`);
      }
    } finally {
      await driver.close();
    }
  });
}
