import { describe, expect, it } from 'vitest';
import { Rng } from '../../bench/workloads/workload.js';
import { LogLinearHistogram } from '../../src/monitor/histogram.js';
import { createOptimizer } from '../../src/optimizer.js';
import { createTestSchema } from '../support/postgres.js';

function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

const QUANTILES = [0.5, 0.95, 0.99, 0.999];

function expectWithinRelative(histogram: LogLinearHistogram, values: readonly number[], tolerance: number): void {
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of QUANTILES) {
    const exact = exactQuantile(sorted, q);
    const estimate = histogram.quantile(q);
    expect(Math.abs(estimate - exact) / exact, `q=${q}: exact ${exact}, histogram ${estimate}`).toBeLessThan(tolerance);
  }
}

function lognormal(rng: Rng, medianMs: number, sigma: number): number {
  const u1 = Math.max(rng.next(), 1e-12);
  const u2 = rng.next();
  return medianMs * Math.exp(sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
}

describe('LogLinearHistogram', () => {
  it('reports p50 / p95 / p99 / p99.9 within 1 % of the exact sorted percentiles of a recorded query trace', async () => {
    const schema = await createTestSchema('qopt_monitor_hist');
    const qo = await createOptimizer({ database: { url: schema.url }, monitor: { slowQueryThresholdMs: 10_000 } });
    try {
      await qo.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
      await qo.query("INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 2000) i");
      const trace: number[] = [];
      for (let i = 0; i < 2000; i += 1) {
        const started = performance.now();
        if (i % 10 === 0) await qo.query('SELECT count(*) FROM t WHERE v LIKE $1', [`%${i % 7}a%`]);
        else await qo.query('SELECT v FROM t WHERE id = $1', [1 + (i % 2000)]);
        trace.push(performance.now() - started);
      }
      const histogram = new LogLinearHistogram();
      for (const value of trace) histogram.record(value);
      expectWithinRelative(histogram, trace, 0.01);
    } finally {
      await qo.close();
      await schema.drop();
    }
  });

  it('stays within 1 % on lognormal and bimodal traces spanning microseconds to seconds', () => {
    const rng = new Rng(7);
    const traces = [
      Array.from({ length: 50_000 }, () => lognormal(rng, 0.4, 1.2)),
      Array.from({ length: 50_000 }, (_, i) => (i % 20 === 0 ? lognormal(rng, 800, 0.3) : lognormal(rng, 0.05, 0.5))),
    ];
    for (const trace of traces) {
      const histogram = new LogLinearHistogram();
      for (const value of trace) histogram.record(value);
      expectWithinRelative(histogram, trace, 0.01);
    }
  });

  it('merges two histograms into exactly the histogram of both traces', () => {
    const rng = new Rng(11);
    const left = Array.from({ length: 5000 }, () => lognormal(rng, 2, 0.4));
    const right = Array.from({ length: 5000 }, () => lognormal(rng, 40, 0.8));
    const a = new LogLinearHistogram();
    const b = new LogLinearHistogram();
    const both = new LogLinearHistogram();
    for (const value of left) {
      a.record(value);
      both.record(value);
    }
    for (const value of right) {
      b.record(value);
      both.record(value);
    }
    a.merge(b);
    expect(a.count).toBe(both.count);
    for (const q of QUANTILES) expect(a.quantile(q)).toBe(both.quantile(q));
    expectWithinRelative(a, [...left, ...right], 0.01);
  });

  it('counts values at or below a limit, as Prometheus buckets need', () => {
    const histogram = new LogLinearHistogram();
    for (let i = 1; i <= 1000; i += 1) histogram.record(i / 10);
    expect(histogram.countAtOrBelow(1000)).toBe(1000);
    expect(histogram.countAtOrBelow(0.01)).toBe(0);
    expect(Math.abs(histogram.countAtOrBelow(50) - 500)).toBeLessThanOrEqual(3);
  });

  it('refuses to merge histograms of different precision', () => {
    const fine = new LogLinearHistogram();
    const coarse = new LogLinearHistogram(32);
    coarse.record(1);
    expect(() => fine.merge(coarse)).toThrow(RangeError);
  });
});
