import { UsageError } from '../../src/errors.js';
import type { Benchmark } from '../harness.js';
import { serviceBenchmark } from './service.js';
import { monitorBenchmark } from './monitor.js';
import { rewriteBenchmark } from './rewrite.js';
import { adviseBenchmark } from './advise.js';
import { executorBenchmark } from './executor.js';
import { sqlBenchmark } from './sql.js';
import { cacheBenchmark } from './cache.js';
import { consistencyBenchmark } from './consistency.js';

/** Every benchmark `qopt bench NAME` can run. Later capabilities add theirs here. */
export const benchmarks: ReadonlyArray<Benchmark<never>> = [
  sqlBenchmark as Benchmark<never>,
  rewriteBenchmark as Benchmark<never>,
  monitorBenchmark as Benchmark<never>,
  cacheBenchmark as Benchmark<never>,
  consistencyBenchmark as Benchmark<never>,
  adviseBenchmark as Benchmark<never>,
  executorBenchmark as Benchmark<never>,
  serviceBenchmark as Benchmark<never>,
];

/** A benchmark by name; UsageError listing the known ones otherwise. */
export function benchmarkByName(name: string): Benchmark<never> {
  const benchmark = benchmarks.find((candidate) => candidate.name === name);
  if (!benchmark) throw new UsageError(`unknown benchmark "${name}" (known: ${benchmarks.map((b) => b.name).join(', ')})`);
  return benchmark;
}
