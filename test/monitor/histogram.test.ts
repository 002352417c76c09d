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

  it('refuses to merge a coarser histogram into a finer one', () => {
    const fine = new LogLinearHistogram();
    const coarse = new LogLinearHistogram(32);
    coarse.record(1);
    expect(() => fine.merge(coarse)).toThrow(RangeError);
  });

  it('merges a finer histogram into a coarser one exactly as recording the values at the coarser precision', () => {
    const rng = new Rng(13);
    const values = [0, 0.0004, ...Array.from({ length: 20_000 }, (_, i) => (i % 50 === 0 ? lognormal(rng, 900, 0.5) : lognormal(rng, 0.3, 1)))];
    const fine = new LogLinearHistogram(128, Uint32Array);
    const direct = new LogLinearHistogram(32);
    for (const value of values) {
      fine.record(value);
      direct.record(value);
    }
    const coarse = new LogLinearHistogram(32);
    coarse.merge(fine);
    expectSameHistogram(coarse, direct, values.filter((_, index) => index % 19 === 0));
  });

  it('gives the same answers with 32-bit counts, and after clearing and reuse, as a fresh histogram', () => {
    const rng = new Rng(17);
    const first = Array.from({ length: 5000 }, () => lognormal(rng, 0.05, 2));
    const second = Array.from({ length: 5000 }, () => lognormal(rng, 30, 0.4));
    const reused = new LogLinearHistogram(128, Uint32Array);
    for (const value of first) reused.record(value);
    reused.clear();
    expect(reused.count).toBe(0);
    const fresh = new LogLinearHistogram();
    for (const value of second) {
      reused.record(value);
      fresh.record(value);
    }
    expectSameHistogram(reused, fresh, [...first, ...second]);
  });
});

/** Asserts two histograms hold the same buckets: same count, extremes, quantiles on a fine grid and counts below every probe. */
function expectSameHistogram(actual: LogLinearHistogram, expected: LogLinearHistogram, probes: readonly number[]): void {
  expect(actual.count).toBe(expected.count);
  expect(actual.min).toBe(expected.min);
  expect(actual.max).toBe(expected.max);
  // Sums of the same values in another order: equal up to rounding.
  expect(Math.abs(actual.totalMs - expected.totalMs)).toBeLessThanOrEqual(1e-12 * Math.abs(expected.totalMs));
  for (let i = 0; i <= 1000; i += 1) expect(actual.quantile(i / 1000), `q=${i / 1000}`).toBe(expected.quantile(i / 1000));
  for (const probe of probes) expect(actual.countAtOrBelow(probe), `≤ ${probe}`).toBe(expected.countAtOrBelow(probe));
}
