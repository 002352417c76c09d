import { Command, CommanderError } from 'commander';
import { QoptError } from '../errors.js';
import { registerAdvise } from './commands/advise.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerBench } from './commands/bench.js';
import { registerConfig } from './commands/config.js';
import { registerCache } from './commands/cache.js';
import { registerDemo } from './commands/demo.js';
import { registerHealth } from './commands/health.js';
import { registerLoad } from './commands/load.js';
import { registerDuckDb } from './commands/duckdb.js';
import { registerLoadWorkload } from './commands/loadWorkload.js';
import { registerServe } from './commands/serve.js';
import { registerRewrite } from './commands/rewrite.js';
import { registerAlerts } from './commands/alerts.js';
import { registerSlow } from './commands/slow.js';
import { registerTop } from './commands/top.js';
import { registerViews } from './commands/views.js';

/** The `qopt` program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('qopt')
    .description('qopt — watch, explain, fix and prove the performance of PostgreSQL queries')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride();
  registerDemo(program);
  registerAnalyze(program);
  registerBench(program);
  registerLoadWorkload(program);
  registerConfig(program);
  registerServe(program);
  registerDuckDb(program);
  registerRewrite(program);
  registerTop(program);
  registerSlow(program);
  registerAlerts(program);
  registerCache(program);
  registerAdvise(program);
  registerHealth(program);
  registerViews(program);
  registerLoad(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI; errors become one line on stderr and a non-zero exit code. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = exitCodeOf(error);
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander already printed its one-line message (or the help / version text).
    return error.exitCode;
  }
  if (error instanceof QoptError) {
    process.stderr.write(`qopt: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`qopt: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}
