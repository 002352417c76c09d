import { analyzeSql } from '../../src/sql/analyze.js';
import type { AdvisorQuery } from '../../src/advise/workload.js';
import { Rng } from '../../bench/workloads/workload.js';
import type { Workload } from '../../bench/workloads/workload.js';

/** A seed workload's queries and loops as advisor input, with deterministic parameter samples and equal weights. */
export function seedWorkloadQueries(workload: Workload, scale: number, samples = 2): AdvisorQuery[] {
  const rng = new Rng(7);
  const sizes = workload.sizes(scale);
  return [
    ...workload.queries.map((query) => ({
      fingerprint: analyzeSql(query.sql).fingerprint,
      name: query.name,
      sql: query.sql,
      calls: 10,
      totalMs: null,
      paramSamples: Array.from({ length: samples }, () => query.params(rng, sizes)),
    })),
    ...workload.loops.map((loop) => ({
      fingerprint: analyzeSql(loop.query).fingerprint,
      name: loop.name,
      sql: loop.query,
      calls: 10,
      totalMs: null,
      paramSamples: loop.params(rng, sizes, samples),
    })),
  ];
}

/** A literal or `$n` query with a weight, for hand-made workloads. */
export function query(sql: string, calls: number, totalMs: number | null, paramSamples: unknown[][] = []): AdvisorQuery {
  return { fingerprint: analyzeSql(sql).fingerprint, name: null, sql, calls, totalMs, paramSamples };
}
