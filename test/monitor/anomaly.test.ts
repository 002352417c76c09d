import { describe, expect, it } from 'vitest';
import { Rng } from '../../bench/workloads/workload.js';
import { AnomalyDetector } from '../../src/monitor/anomaly.js';
import type { Fingerprint } from '../../src/sql/analyze.js';

const FINGERPRINT = 'a1b2c3d4' as Fingerprint;
const HOUR_MS = 3_600_000;

/** A replayed trace at one call per second: lognormal latency around 4 ms, multiplied by `factor(t)`. */
function replay(detector: AnomalyDetector, seconds: number, factor: (second: number) => number, failing: (second: number) => boolean = () => false, seed = 1): void {
  const rng = new Rng(seed);
  const start = 10 * HOUR_MS;
  for (let second = 0; second < seconds; second += 1) {
    const u1 = Math.max(rng.next(), 1e-12);
    const noise = Math.exp(0.3 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng.next()));
    detector.observe({ fingerprint: FINGERPRINT, normalized: 'SELECT * FROM orders WHERE id = $1', durationMs: 4 * noise * factor(second), rows: 1, failed: failing(second), at: start + second * 1000 });
  }
}

describe('AnomalyDetector', () => {
  it('flags a doubling of latency in a replayed trace, naming the fingerprint, baseline and current p95, within two minutes', () => {
    const detector = new AnomalyDetector();
    const regressionAt = 3600;
    replay(detector, 2 * 3600, (second) => (second >= regressionAt ? 2 : 1));
    const anomalies = detector.list().filter((anomaly) => anomaly.metric === 'p95_latency');
    expect(anomalies.length).toBeGreaterThanOrEqual(1);
    const first = anomalies[0]!;
    expect(first.fingerprint).toBe(FINGERPRINT);
    expect(first.ratio).toBeGreaterThan(1.6);
    expect(first.ratio).toBeLessThan(2.5);
    expect(first.confidence).toBeGreaterThan(0.5);
    expect(first.description).toContain(FINGERPRINT);
    expect(first.description).toContain('baseline');
    const delaySeconds = (first.detectedAt - (10 * HOUR_MS + regressionAt * 1000)) / 1000;
    expect(delaySeconds).toBeGreaterThanOrEqual(0);
    expect(delaySeconds).toBeLessThanOrEqual(120);
  });

  it('keeps a latency anomaly active while the latency stays doubled, and resolves it when the latency returns', () => {
    const detector = new AnomalyDetector();
    replay(detector, 4 * 3600, (second) => (second >= 3600 && second < 3 * 3600 ? 2 : 1));
    detector.flush(10 * HOUR_MS + 4 * HOUR_MS);
    const anomalies = detector.list().filter((anomaly) => anomaly.metric === 'p95_latency');
    expect(anomalies).toHaveLength(1);
    const [anomaly] = anomalies;
    const minute = (at: number): number => (at - 10 * HOUR_MS) / 60_000;
    expect(minute(anomaly!.detectedAt)).toBeLessThanOrEqual(62);
    expect(anomaly!.resolution).toBe('recovered');
    expect(minute(anomaly!.resolvedAt!)).toBeGreaterThanOrEqual(180);
    expect(minute(anomaly!.resolvedAt!)).toBeLessThanOrEqual(183);
    expect(detector.active()).toEqual([]);
  });

  it('accepts a shift that lasts for hours as the new normal, saying so, and does not flag it again', () => {
    const detector = new AnomalyDetector({ acceptShiftAfterMs: 3 * HOUR_MS });
    replay(detector, 6 * 3600, (second) => (second >= 3600 ? 2 : 1));
    const anomalies = detector.list().filter((anomaly) => anomaly.metric === 'p95_latency');
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]!.resolution).toBe('accepted as new normal');
    expect((anomalies[0]!.resolvedAt! - anomalies[0]!.detectedAt) / HOUR_MS).toBeCloseTo(3, 1);
    expect(anomalies[0]!.description).toContain('accepted as the new normal');
    expect(detector.active()).toEqual([]);
  });

  it('raises nothing on a stationary replayed trace of the same length', () => {
    for (const seed of [1, 2, 3]) {
      const detector = new AnomalyDetector();
      replay(detector, 2 * 3600, () => 1, () => false, seed);
      expect(detector.list()).toEqual([]);
    }
  });

  it('flags an error-rate regression and resolves it when errors stop', () => {
    const detector = new AnomalyDetector();
    const failing = (second: number): boolean => second >= 3600 && second < 3900 && second % 5 === 0;
    replay(detector, 4800, () => 1, failing);
    const errors = detector.list().filter((anomaly) => anomaly.metric === 'error_rate');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.current).toBeGreaterThan(0.15);
    // From a baseline of no errors there is no ratio (JSON has no Infinity), and the description says so.
    expect(errors[0]!.baseline).toBe(0);
    expect(errors[0]!.ratio).toBeNull();
    expect(errors[0]!.description).toContain('from zero');
    expect(errors[0]!.resolvedAt).not.toBeNull();
    expect(errors[0]!.resolution).toBe('recovered');
    // Resolved when the errors stopped (second 3900), not when the baseline had absorbed them.
    expect((errors[0]!.resolvedAt! - 10 * HOUR_MS) / 1000).toBeGreaterThanOrEqual(3900);
    expect(detector.active()).toEqual([]);
  });

  it('judges nothing before it has a baseline of enough intervals', () => {
    const detector = new AnomalyDetector({ minHistory: 10 });
    replay(detector, 8 * 60, (second) => (second >= 240 ? 5 : 1));
    expect(detector.list()).toEqual([]);
  });
});
