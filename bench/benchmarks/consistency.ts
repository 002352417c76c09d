import { runConsistencyCheck } from '../cache/consistencyChecker.js';
import type { ConsistencyMode } from '../cache/consistencyChecker.js';
import type { Benchmark } from '../harness.js';

const MODES: Array<{ mode: ConsistencyMode; id: string }> = [
  { mode: 'l1', id: 'l1' },
  { mode: 'l1+l2', id: 'l1_l2' },
  { mode: 'two-instances', id: 'two_instances' },
];

const figures: Benchmark['figures'] = {};
for (const { mode, id } of MODES) {
  figures[`${id}_operations`] = { unit: 'ops', label: `${mode}: operations checked`, better: 'higher' };
  figures[`${id}_stale_reads`] = { unit: 'reads', label: `${mode}: stale reads (must be 0)`, better: 'lower' };
  figures[`${id}_hit_ratio_pct`] = { unit: '%', label: `${mode}: cache hit ratio`, better: 'higher' };
  figures[`${id}_ops_per_s`] = { unit: 'ops/s', label: `${mode}: throughput`, better: 'higher' };
}

/** The randomized consistency checker at full size: concurrent readers and writers on a few hot rows, every read judged. */
export const consistencyBenchmark: Benchmark<null> = {
  name: 'consistency',
  description: 'randomized readers and writers (updates, inserts, deletes on hot rows) through qopt; every read checked against committed writes',
  figures,
  async setup() {
    return null;
  },
  async measure(_state, context) {
    const values: Record<string, number> = {};
    for (const { mode, id } of MODES) {
      const report = await runConsistencyCheck({
        mode,
        databaseUrl: context.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test',
        redisUrl: context.redisUrl ?? 'redis://127.0.0.1:6379',
        operations: context.quick ? 1_200 : 20_000,
        seed: 1000 + Object.keys(values).length,
      });
      context.log(`consistency ${mode}: ${report.operations} operations (${report.reads} reads, ${report.writes} writes), ${report.staleReads} stale reads`);
      for (const example of report.examples) context.log(`  stale: ${example}`);
      values[`${id}_operations`] = report.operations;
      values[`${id}_stale_reads`] = report.staleReads;
      values[`${id}_hit_ratio_pct`] = report.hitRatio * 100;
      values[`${id}_ops_per_s`] = report.operations / report.seconds;
    }
    return values;
  },
};
