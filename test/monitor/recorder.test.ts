import { describe, expect, it } from 'vitest';
import { LogLinearHistogram } from '../../src/monitor/histogram.js';
import { OTHER_FINGERPRINT, QueryRecorder } from '../../src/monitor/recorder.js';
import type { Fingerprint } from '../../src/sql/analyze.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const fp = (name: string) => name as Fingerprint;

describe('QueryRecorder', () => {
  it('keeps the current minute, the last five minutes and the last hour apart', () => {
    const recorder = new QueryRecorder();
    for (let minute = 0; minute < 90; minute += 1) {
      recorder.record({ fingerprint: fp('q'), normalized: 'SELECT 1', durationMs: minute < 80 ? 1 : 10, rows: 1, failed: false, at: T0 + minute * 60_000 });
    }
    const now = T0 + 89 * 60_000 + 30_000;
    // The 1-minute window is the current minute and the whole one before it: it never starts empty.
    expect(recorder.window(1, now)[0]!.calls).toBe(2);
    expect(recorder.window(5, now)[0]!.calls).toBe(5);
    expect(recorder.window(5, now)[0]!.p50Ms).toBeCloseTo(10, 0);
    // The hour window is twelve five-minute periods: 56 to 60 minutes back.
    expect(recorder.window(60, now)[0]!.calls).toBeGreaterThanOrEqual(56);
    expect(recorder.window(60, now)[0]!.calls).toBeLessThanOrEqual(60);
    expect(recorder.snapshot()[0]!.calls).toBe(90);
    expect(recorder.window(1, now + 3 * 3_600_000)).toEqual([]);
  });

  it('keeps exact window counts while its slots are reused over hours of irregular traffic', () => {
    const recorder = new QueryRecorder();
    const samples: Array<{ at: number; durationMs: number }> = [];
    let seed = 42;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    let at = T0;
    for (let index = 0; index < 20_000; index += 1) {
      at += Math.floor(random() * (random() < 0.01 ? 600_000 : 1_200)); // bursts, and a few long gaps
      const durationMs = 0.5 + random() * random() * 50;
      samples.push({ at, durationMs });
      recorder.record({ fingerprint: fp('q'), normalized: 'SELECT 1', durationMs, rows: 1, failed: false, at });
    }
    const now = at;
    const minute = Math.floor(now / 60_000);
    const period = Math.floor(minute / 5);
    const inMinutes = (count: number) => samples.filter((sample) => Math.floor(sample.at / 60_000) > minute - count);
    const inHour = samples.filter((sample) => Math.floor(sample.at / 300_000) > period - 12);
    const exactP95 = (values: number[]) => values.sort((a, b) => a - b)[Math.ceil(0.95 * values.length) - 1]!;
    for (const [window, expected] of [
      [1, inMinutes(2)],
      [5, inMinutes(5)],
      [60, inHour],
    ] as const) {
      const stats = recorder.window(window, now)[0]!;
      expect(stats.calls, `${window} m`).toBe(expected.length);
      expect(Math.abs(stats.p95Ms / exactP95(expected.map((sample) => sample.durationMs)) - 1), `${window} m p95`).toBeLessThan(0.01);
    }
    expect(recorder.snapshot()[0]!.calls).toBe(20_000);
  });

  it('gives the same window counters without merging as window() and windowHistogram() do by merging', () => {
    const recorder = new QueryRecorder({ slowThresholdMs: 20 });
    let seed = 11;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    let at = T0;
    for (let index = 0; index < 5_000; index += 1) {
      at += Math.floor(random() * 3_000);
      const name = `q${Math.floor(random() * 12)}`;
      recorder.record({ fingerprint: fp(name), normalized: name, durationMs: 0.1 + random() * random() * 60, rows: 1, failed: random() < 0.05, cache: random() < 0.5 ? 'hit' : 'miss', at });
    }
    for (const minutes of [1, 5, 60] as const) {
      const merged = new Map(recorder.window(minutes, at).map((stats) => [stats.fingerprint, stats]));
      const counters = recorder.windowCounters(minutes, at);
      expect(counters).toHaveLength(merged.size);
      for (const entry of counters) {
        const stats = merged.get(entry.fingerprint)!;
        expect([entry.calls, entry.errors, entry.slow, entry.cacheHits, entry.cacheMisses]).toEqual([stats.calls, stats.errors, stats.slow, stats.cacheHits, stats.cacheMisses]);
        expect(entry.totalMs).toBeCloseTo(stats.totalMs, 6);
        expect(entry.stats()).toEqual(stats);
        const limits = [0.5, 5, 20, 50];
        const counts = limits.map(() => 0);
        entry.addLatencyCountsAtOrBelow(limits, counts);
        const histogram = recorder.windowHistogram(entry.fingerprint, minutes, at)!;
        const expected = limits.map((limit) => histogram.countAtOrBelow(limit));
        // The hour window's merge is at 64 buckets; read in place, its live minutes keep 128: only the limit's own bucket may differ.
        if (minutes === 60) counts.forEach((count, k) => expect(Math.abs(count - expected[k]!)).toBeLessThanOrEqual(Math.max(1, 0.02 * entry.calls)));
        else expect(counts).toEqual(expected);
      }
    }
  });

  it('folds fingerprints beyond the cap into "other" without losing calls', () => {
    const recorder = new QueryRecorder({ maxFingerprints: 3 });
    for (let i = 0; i < 10; i += 1) recorder.record({ fingerprint: fp(`q${i}`), normalized: `SELECT ${i}`, durationMs: 1, rows: 2, failed: false, at: T0 });
    const snapshot = recorder.snapshot();
    expect(snapshot).toHaveLength(4);
    expect(snapshot.find((entry) => entry.fingerprint === OTHER_FINGERPRINT)!.calls).toBe(7);
    expect(snapshot.reduce((sum, entry) => sum + entry.calls, 0)).toBe(10);
    expect(recorder.overflowed).toBe(7);
  });

  it('keeps the busiest K: a fingerprint that turns hot while the table is full takes the coldest one’s place', () => {
    const recorder = new QueryRecorder({ maxFingerprints: 100 });
    let at = T0;
    // 100 fingerprints called once each fill the table; then ten of them stay busy.
    for (let i = 0; i < 100; i += 1) recorder.record({ fingerprint: fp(`cold${i}`), normalized: `SELECT ${i}`, durationMs: 1, rows: 1, failed: false, at: (at += 10) });
    for (let round = 0; round < 20; round += 1) {
      for (let i = 0; i < 10; i += 1) recorder.record({ fingerprint: fp(`cold${i}`), normalized: `SELECT ${i}`, durationMs: 1, rows: 1, failed: false, at: (at += 10) });
    }
    // A one-off fingerprint never displaces anyone; a hot one does, within a few calls.
    recorder.record({ fingerprint: fp('once'), normalized: 'SELECT once', durationMs: 1, rows: 1, failed: false, at: (at += 10) });
    for (let call = 0; call < 1000; call += 1) recorder.record({ fingerprint: fp('hot'), normalized: 'SELECT hot', durationMs: 2, rows: 1, failed: false, at: (at += 10) });
    const snapshot = recorder.snapshot();
    const fingerprints = snapshot.map((entry) => entry.fingerprint as string);
    expect(fingerprints).toContain('hot');
    expect(fingerprints).not.toContain('once');
    expect(snapshot.find((entry) => entry.fingerprint === 'hot')!.calls).toBeGreaterThan(990);
    // The ten busy ones are still tracked; the one that made room was a one-call fingerprint.
    for (let i = 0; i < 10; i += 1) expect(fingerprints).toContain(`cold${i}`);
    expect(snapshot.filter((entry) => entry.fingerprint !== OTHER_FINGERPRINT)).toHaveLength(100);
    expect(recorder.promoted).toBe(1);
    // Nothing is lost: every call is in a tracked entry or in `other`.
    expect(snapshot.reduce((sum, entry) => sum + entry.calls, 0)).toBe(100 + 200 + 1 + 1000);
  });

  it('makes room again by folding fingerprints idle for an hour', () => {
    const recorder = new QueryRecorder({ maxFingerprints: 2 });
    recorder.record({ fingerprint: fp('old'), normalized: 'SELECT 1', durationMs: 1, rows: 1, failed: false, at: T0 });
    recorder.record({ fingerprint: fp('busy'), normalized: 'SELECT 2', durationMs: 1, rows: 1, failed: false, at: T0 + 3_600_000 });
    expect(recorder.compact(T0 + 3_700_000)).toBe(1);
    recorder.record({ fingerprint: fp('new'), normalized: 'SELECT 3', durationMs: 1, rows: 1, failed: false, at: T0 + 3_700_000 });
    expect(recorder.snapshot().map((entry) => entry.fingerprint).sort()).toEqual(['busy', 'new', 'other']);
  });

  it('records cache outcomes, pool wait, retries and routes when later stages report them', () => {
    const recorder = new QueryRecorder({ slowThresholdMs: 5 });
    recorder.record({ fingerprint: fp('q'), normalized: 'SELECT 1', durationMs: 0.1, rows: 1, failed: false, cache: 'hit', route: 'cache' });
    recorder.record({ fingerprint: fp('q'), normalized: 'SELECT 1', durationMs: 9, rows: 1, failed: false, cache: 'miss', poolWaitMs: 2, retries: 1, route: 'replica' });
    const [stats] = recorder.snapshot();
    expect(stats).toMatchObject({ calls: 2, cacheHits: 1, cacheMisses: 1, retries: 1, meanPoolWaitMs: 2, slow: 1, routes: { cache: 1, replica: 1 } });
  });

  it('keeps cumulative and window histograms equal to histograms fed every sample directly, across rotations, gaps and late samples', () => {
    const recorder = new QueryRecorder();
    const samples: Array<{ at: number; durationMs: number }> = [];
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    let at = T0;
    for (let index = 0; index < 30_000; index += 1) {
      at += Math.floor(random() * (random() < 0.005 ? 900_000 : 400));
      // One sample in 50 is replayed late: from a minute still in the ring, from an older one, or from hours back.
      const late = random() < 0.02 ? [30_000, 200_000, 900_000, 7_200_000][Math.floor(random() * 4)]! : 0;
      const sample = { at: at - late, durationMs: random() < 0.01 ? 0 : 0.05 + random() * random() * 80 };
      samples.push(sample);
      recorder.record({ fingerprint: fp('q'), normalized: 'SELECT 1', durationMs: sample.durationMs, rows: 1, failed: false, at: sample.at });
    }
    const everything = new LogLinearHistogram();
    for (const sample of samples) everything.record(sample.durationMs);
    const probes = samples.filter((_, index) => index % 97 === 0).map((sample) => sample.durationMs);
    expectSameHistogram(recorder.histogram(fp('q'))!, everything, probes);
    // What the Prometheus exposition reads, straight from the entry's histograms: the same counts and total.
    const exported = recorder.exportEntries()[0]!;
    const limits = [...probes].sort((a, b) => a - b);
    const counts = limits.map(() => 0);
    exported.addLatencyCountsAtOrBelow(limits, counts);
    expect(counts).toEqual(limits.map((limit) => everything.countAtOrBelow(limit)));
    expect(exported.calls).toBe(everything.count);
    expect(exported.totalMs).toBeCloseTo(everything.totalMs, 6);
    expect(recorder.snapshot()[0]!.p99Ms).toBe(everything.quantile(0.99));

    // The minute windows keep full precision; the hour window that of its 5-minute slots.
    const minute = Math.floor(at / 60_000);
    const period = Math.floor(minute / 5);
    const inMinutes = (count: number) => samples.filter((sample) => Math.floor(sample.at / 60_000) > minute - count && sample.at <= at);
    const inHour = samples.filter((sample) => Math.floor(sample.at / 300_000) > period - 12 && sample.at <= at);
    for (const [window, expected, precision] of [
      [1, inMinutes(2), 128],
      [5, inMinutes(5), 128],
      [60, inHour, 64],
    ] as const) {
      const reference = new LogLinearHistogram(precision);
      for (const sample of expected) reference.record(sample.durationMs);
      expect(recorder.window(window, at)[0]!.calls, `${window} m`).toBe(expected.length);
      expectSameHistogram(recorder.windowHistogram(fp('q'), window, at)!, reference, probes);
    }
  });

  it('folds an idle fingerprint with its live minutes into "other", which keeps the histogram of every sample it absorbed', () => {
    const recorder = new QueryRecorder({ maxFingerprints: 2 });
    const reference = new LogLinearHistogram();
    for (let minute = 0; minute < 8; minute += 1) {
      for (let sample = 0; sample < 20; sample += 1) {
        const durationMs = 0.2 + minute + sample / 7;
        reference.record(durationMs);
        recorder.record({ fingerprint: fp('idle'), normalized: 'SELECT 1', durationMs, rows: 1, failed: false, at: T0 + minute * 60_000 + sample * 1000 });
      }
    }
    // Beyond the cap: recorded under "other" from the start.
    for (const name of ['busy', 'late']) {
      reference.record(3);
      recorder.record({ fingerprint: fp(name), normalized: name, durationMs: 3, rows: 1, failed: false, at: T0 + 3_600_000 });
    }
    expect(recorder.compact(T0 + 3 * 3_600_000)).toBe(2);
    const other = recorder.histogram(OTHER_FINGERPRINT)!;
    expectSameHistogram(other, reference, [0.1, 1, 3, 5, 8, 9]);
    expect(recorder.snapshot().map((entry) => entry.fingerprint)).toEqual([OTHER_FINGERPRINT]);
  });

  it('holds an hour of a quiet fingerprint (10 calls a minute) in sparse slots of a few KB, with the answers of dense histograms', () => {
    const recorder = new QueryRecorder();
    const all = new LogLinearHistogram();
    const hour = new LogLinearHistogram(64);
    const lastFive = new LogLinearHistogram();
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let minute = 0; minute < 60; minute += 1) {
      for (let sample = 0; sample < 10; sample += 1) {
        const durationMs = 4 * Math.exp(random() - random());
        all.record(durationMs);
        hour.record(durationMs);
        if (minute >= 55) lastFive.record(durationMs);
        recorder.record({ fingerprint: fp('quiet'), normalized: 'SELECT 1', durationMs, rows: 1, failed: false, at: T0 + minute * 60_000 + sample * 5_000 });
      }
    }
    const now = T0 + 59 * 60_000 + 59_000;
    const probes = [1, 2, 3, 4, 5, 8, 10];
    expectSameHistogram(recorder.histogram(fp('quiet'))!, all, probes);
    expectSameHistogram(recorder.windowHistogram(fp('quiet'), 60, now)!, hour, probes);
    expectSameHistogram(recorder.windowHistogram(fp('quiet'), 5, now)!, lastFive, probes);
    // With a dense array per slot spanning the hour's range it took 17.8 KB, by a count that left out V8's object overheads.
    expect(recorder.byteSize()).toBeLessThan(14_000);
  });
});

/** Asserts two histograms hold the same buckets: same count, extremes, quantiles on a fine grid and counts below every probe. */
function expectSameHistogram(actual: LogLinearHistogram, expected: LogLinearHistogram, probes: readonly number[]): void {
  expect(actual.count).toBe(expected.count);
  expect(actual.min).toBe(expected.min);
  expect(actual.max).toBe(expected.max);
  // Sums of the same values in another order: equal up to rounding.
  expect(Math.abs(actual.totalMs - expected.totalMs)).toBeLessThanOrEqual(1e-12 * Math.abs(expected.totalMs));
  for (let i = 0; i <= 200; i += 1) expect(actual.quantile(i / 200), `q=${i / 200}`).toBe(expected.quantile(i / 200));
  for (const probe of probes) expect(actual.countAtOrBelow(probe), `≤ ${probe}`).toBe(expected.countAtOrBelow(probe));
}
