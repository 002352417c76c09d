import type { Command } from 'commander';
import { benchmarkByName, benchmarks } from '../../../bench/benchmarks/index.js';
import { formatBenchResult, runBenchmark, writeBenchResult } from '../../../bench/harness.js';
import { compareRatiosWithBaseline, compareWithBaseline, formatComparison, readBaseline, updateBaseline } from '../../../bench/regressionGate.js';
import { UsageError } from '../../errors.js';
import { databaseUrlOf, positiveInteger, printJson, withDatabaseOption } from '../options.js';

interface BenchOptions {
  quick?: boolean;
  runs?: number;
  database?: string;
  redis?: string;
  json?: boolean;
  list?: boolean;
  compare?: string;
  updateBaseline?: string;
  absolute?: boolean;
}

const DEFAULT_RUNS = 5;
const QUICK_RUNS = 3;

/** `qopt bench NAME`: runs a named benchmark on the harness and writes bench/results/NAME.json. */
export function registerBench(program: Command): void {
  withDatabaseOption(
    program
      .command('bench')
      .description('run a benchmark: prints min / median / max per figure and its ratios, writes bench/results/NAME.json')
      .argument('[name]', `benchmark name (${benchmarks.map((benchmark) => benchmark.name).join(', ')})`)
      .option('--quick', 'small data and few iterations: under a minute')
      .option('--runs <n>', `repetitions (default ${DEFAULT_RUNS}, ${QUICK_RUNS} with --quick)`, positiveInteger)
      .option('--redis <url>', 'Redis for benchmarks that use it (default: $REDIS_URL)')
      .option('--json', 'print the result as JSON')
      .option('--list', 'list the benchmarks')
      .option('--compare <baseline>', 'regression gate: exit 1 when a figure is worse than the baseline beyond its noise band')
      .option('--update-baseline <baseline>', 'store this result as the accepted baseline of the benchmark')
      .option('--absolute', 'with --compare: also judge absolute figures, not only the side-by-side ratios'),
  ).action(async (name: string | undefined, options: BenchOptions) => {
    if (options.list) {
      for (const benchmark of benchmarks) process.stdout.write(`${benchmark.name.padEnd(14)} ${benchmark.description}\n`);
      return;
    }
    if (!name) throw new UsageError(`name a benchmark: qopt bench NAME (known: ${benchmarks.map((b) => b.name).join(', ')})`);
    const benchmark = benchmarkByName(name);
    const result = await runBenchmark(benchmark, {
      quick: Boolean(options.quick),
      runs: options.runs ?? (options.quick ? QUICK_RUNS : DEFAULT_RUNS),
      databaseUrl: databaseUrlOf(options),
      redisUrl: options.redis ?? process.env.QOPT_REDIS_URL ?? process.env.REDIS_URL,
      log: (message) => process.stderr.write(`  ${message}\n`),
    });
    const path = writeBenchResult(result);
    if (options.json) printJson(result);
    else process.stdout.write(`${formatBenchResult(result, benchmark)}\n\nwritten to ${path}\n`);
    if (options.updateBaseline) updateBaseline(options.updateBaseline, result);
    if (options.compare) {
      const baseline = readBaseline(options.compare);
      const comparisons = [
        ...compareRatiosWithBaseline(result, baseline, benchmark),
        ...(options.absolute ? compareWithBaseline(result, baseline, benchmark) : []),
      ];
      process.stdout.write(`\nregression gate against ${options.compare}:\n${formatComparison(comparisons)}\n`);
      if (comparisons.some((comparison) => comparison.regressed)) process.exitCode = 1;
    }
  });
}
