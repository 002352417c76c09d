import { describe, expect, it } from 'vitest';
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
    expect(recorder.window(1, now)[0]!.calls).toBe(1);
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
      [1, inMinutes(1)],
      [5, inMinutes(5)],
      [60, inHour],
    ] as const) {
      const stats = recorder.window(window, now)[0]!;
      expect(stats.calls, `${window} m`).toBe(expected.length);
      expect(Math.abs(stats.p95Ms / exactP95(expected.map((sample) => sample.durationMs)) - 1), `${window} m p95`).toBeLessThan(0.02);
    }
    expect(recorder.snapshot()[0]!.calls).toBe(20_000);
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
});
