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

  it('answers several quantiles and several Prometheus limits in one pass exactly as one at a time, sparse and dense', () => {
    const rng = new Rng(17);
    const limits = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 10, 50, 250, 1000, 10_000];
    const qs = [0, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1];
    for (const distinct of [0, 1, 5, 40, 2000]) {
      const histogram = new LogLinearHistogram();
      for (let i = 0; i < distinct; i += 1) histogram.record(lognormal(rng, 3, 1.5), 1 + (i % 3));
      expect(histogram.isSparse, `distinct ${distinct}`).toBe(distinct < 64);
      expect(histogram.quantiles(qs)).toEqual(qs.map((q) => histogram.quantile(q)));
      const counts = limits.map(() => 0);
      histogram.addCountsAtOrBelow(limits, counts);
      histogram.addCountsAtOrBelow(limits, counts);
      expect(counts).toEqual(limits.map((limit) => 2 * histogram.countAtOrBelow(limit)));
    }
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

  it('answers bucket for bucket as a dense histogram while sparse, and after turning dense past 64 distinct buckets', () => {
    const rng = new Rng(19);
    const values = [0, 0.0004, ...Array.from({ length: 3000 }, () => lognormal(rng, 3, 1.5))];
    const probes = values.filter((_, index) => index % 7 === 0);
    const growing = new LogLinearHistogram(128, Uint32Array);
    const dense = denseHistogram(128, Uint32Array);
    let sawSparse = false;
    for (const [index, value] of values.entries()) {
      growing.record(value);
      dense.record(value);
      if (growing.isSparse) sawSparse = true;
      // Compare at every step while sparse, around the switch, then now and then.
      if (index < 80 || index % 500 === 0) expectSameHistogram(growing, dense, probes);
    }
    expect(sawSparse).toBe(true);
    expect(growing.isSparse).toBe(false);
    expectSameHistogram(growing, dense, probes);
  });

  it('turns dense when a sparse count would pass 16 bits, keeping the count exact', () => {
    const histogram = new LogLinearHistogram(128, Uint32Array);
    histogram.record(5, 0xffff);
    expect(histogram.isSparse).toBe(true);
    histogram.record(5);
    expect(histogram.isSparse).toBe(false);
    expect(histogram.count).toBe(0x10000);
    expect(histogram.countAtOrBelow(5)).toBe(0x10000);
    expect(histogram.countAtOrBelow(4.9)).toBe(0);
  });

  it('merges sparse into sparse, sparse into dense, dense into sparse and dense into dense exactly, at the same and a coarser precision', () => {
    const rng = new Rng(23);
    const few = Array.from({ length: 12 }, () => lognormal(rng, 0.8, 0.5));
    const many = Array.from({ length: 4000 }, () => lognormal(rng, 20, 1));
    const fill = (histogram: LogLinearHistogram, values: readonly number[]): LogLinearHistogram => {
      for (const value of values) histogram.record(value);
      return histogram;
    };
    const probes = [...few, ...many.filter((_, index) => index % 13 === 0)];
    for (const precision of [128, 32]) {
      for (const [left, right] of [[few, few], [few, many], [many, few], [many, many]] as const) {
        const target = fill(new LogLinearHistogram(precision, Uint32Array), left);
        const source = fill(new LogLinearHistogram(128, Uint32Array), right);
        expect(target.isSparse).toBe(left === few);
        expect(source.isSparse).toBe(right === few);
        target.merge(source);
        const direct = fill(fill(denseHistogram(precision, Float64Array), left), right);
        expectSameHistogram(target, direct, probes);
      }
    }
  });

  it('goes back to sparse when cleared after a period of few values, and stays dense after a busy one', () => {
    const rng = new Rng(29);
    const histogram = new LogLinearHistogram(128, Uint32Array);
    for (let i = 0; i < 1000; i += 1) histogram.record(lognormal(rng, 5, 1));
    histogram.clear();
    expect(histogram.isSparse).toBe(false);
    for (let i = 0; i < 10; i += 1) histogram.record(lognormal(rng, 5, 1));
    const denseBytes = histogram.byteSize;
    histogram.clear();
    expect(histogram.isSparse).toBe(true);
    expect(histogram.byteSize).toBeLessThan(denseBytes);
    const again = Array.from({ length: 10 }, () => lognormal(rng, 5, 1));
    const fresh = denseHistogram(128, Float64Array);
    for (const value of again) {
      histogram.record(value);
      fresh.record(value);
    }
    expectSameHistogram(histogram, fresh, again);
  });

  it('widens 32-bit counts to 64-bit before a merge takes the total past 2^32 − 1', () => {
    const big = denseHistogram(128, Float64Array);
    big.record(2, 2 ** 31);
    big.record(3, 2 ** 31);
    const narrow = new LogLinearHistogram(128, Uint32Array);
    narrow.record(2, 2 ** 31);
    narrow.merge(big);
    expect(narrow.count).toBe(3 * 2 ** 31);
    expect(narrow.countAtOrBelow(2)).toBe(2 ** 32);
    expect(narrow.countAtOrBelow(3)).toBe(3 * 2 ** 31);
  });
});

/** A histogram already dense (a count past 16 bits in bucket 0 turns it dense; then cleared). */
function denseHistogram(subBuckets: number, countArray: typeof Float64Array | typeof Uint32Array): LogLinearHistogram {
  const histogram = new LogLinearHistogram(subBuckets, countArray);
  histogram.record(0, 0x10000);
  // Clearing after more values than the sparse form's limit keeps the dense array.
  histogram.clear();
  expect(histogram.isSparse).toBe(false);
  return histogram;
}

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
