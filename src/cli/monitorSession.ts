import type { Command } from 'commander';
import { isWorkloadLoaded, Rng, workloadByName, workloads } from '../../bench/workloads/index.js';
import { UsageError } from '../errors.js';
import { createOptimizer } from '../optimizer.js';
import type { Optimizer, OptimizerOptions } from '../optimizer.js';
import { databaseUrlOf, positiveInteger, positiveNumber, withDatabaseOption } from './options.js';
import { serviceUrl } from './serviceClient.js';

/** Options shared by `qopt top`, `qopt slow` and `qopt alerts`. */
export interface MonitorCommandOptions {
  database?: string;
  /** Base URL of a running qopt service to read instead of observing this process. */
  service?: string;
  workload?: string;
  scale: number;
  iterations: number;
  json?: boolean;
}

/** Adds `--service`, `--database`, `--workload`, `--scale`, `--iterations` and `--json`. */
export function withMonitorOptions(command: Command): Command {
  return withDatabaseOption(command)
    .option('--service <url>', 'read a running qopt service (e.g. http://127.0.0.1:8080) instead of observing this process')
    .option('--workload <name>', `first run a loaded seed workload through qopt to observe it (${workloads.map((workload) => workload.name).join(', ')})`)
    .option('--scale <s>', 'the scale the workload was loaded at', positiveNumber, 1)
    .option('--iterations <n>', 'executions of each workload query', positiveInteger, 50)
    .option('--json', 'print JSON');
}

/** The running service to read, once `--service` and `--workload` are checked not to be given together. */
export function serviceOf(options: MonitorCommandOptions): string | undefined {
  if (options.service === undefined) return undefined;
  if (options.workload !== undefined) throw new UsageError('--service reads what a running service saw; --workload runs a workload in this process: give one of them');
  return serviceUrl(options.service);
}

/**
 * Opens qopt on the database and, with `--workload`, runs that workload's queries (its N+1 loops
 * inside a request context) so this process's monitor has something to report. A CLI process only
 * sees its own executions; a long-running service exposes the same reports over HTTP.
 */
export async function openMonitorSession(options: MonitorCommandOptions, overrides: OptimizerOptions = {}): Promise<{ qo: Optimizer; ran: number }> {
  const qo = await createOptimizer({ ...overrides, database: { url: databaseUrlOf(options) } });
  try {
    if (!options.workload) return { qo, ran: 0 };
    const workload = workloadByName(options.workload);
    if (!(await isWorkloadLoaded(qo.driver, workload, options.scale))) {
      throw new UsageError(`the ${workload.name} workload is not loaded at scale ${options.scale} in ${qo.driver.target}: run qopt load-workload ${workload.name} --scale ${options.scale} first`);
    }
    const sizes = workload.sizes(options.scale);
    const rng = new Rng(1);
    let ran = 0;
    for (const query of workload.queries) {
      for (let iteration = 0; iteration < options.iterations; iteration += 1) {
        await qo.query(query.sql, query.params(rng, sizes));
        ran += 1;
      }
    }
    for (const loop of workload.loops) {
      await qo.withContext(loop.name, async () => {
        for (const params of loop.params(rng, sizes, loop.iterations)) {
          await qo.query(loop.query, params);
          ran += 1;
        }
      });
    }
    return { qo, ran };
  } catch (error) {
    await qo.close();
    throw error;
  }
}
