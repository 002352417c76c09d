import { describe, expect, it } from 'vitest';
import type { BenchResult, FigureSummary } from '../../bench/harness.js';
import { compareRatiosWithBaseline, compareWithBaseline } from '../../bench/regressionGate.js';

function figure(median: number, spread = 0): FigureSummary {
  return { min: median * (1 - spread), median, max: median * (1 + spread), unit: 'x', label: 'x', samples: [median] };
}

function result(figures: Record<string, FigureSummary>): BenchResult {
  return { name: 'b', description: '', runs: 3, quick: true, startedAt: '', environment: { node: '', platform: '', cpus: 2 }, figures, ratios: {} };
}

const specs = { figures: { latency: { unit: 'ms', label: '', better: 'lower' as const }, rate: { unit: 'q/s', label: '', better: 'higher' as const } } };

describe('regression gate', () => {
  const baseline = { b: result({ latency: figure(10), rate: figure(1000) }) };

  it('passes figures within the noise band and fails those beyond it, in the right direction', () => {
    const within = compareWithBaseline(result({ latency: figure(10.5), rate: figure(950) }), baseline, specs);
    expect(within.map((c) => c.regressed)).toEqual([false, false]);
    const beyond = compareWithBaseline(result({ latency: figure(13), rate: figure(800) }), baseline, specs);
    expect(beyond.map((c) => c.regressed)).toEqual([true, true]);
    const improved = compareWithBaseline(result({ latency: figure(5), rate: figure(2000) }), baseline, specs);
    expect(improved.map((c) => c.regressed)).toEqual([false, false]);
  });

  it('widens the band to a noisy run’s own spread', () => {
    const noisy = compareWithBaseline(result({ latency: figure(13, 0.8), rate: figure(1000) }), baseline, specs);
    expect(noisy[0]!.regressed).toBe(false);
    expect(noisy[0]!.noiseBand).toBeCloseTo(0.8);
  });
});

describe('regression gate on side-by-side ratios', () => {
  const ratioSpecs = {
    figures: { qopt: { unit: 'q/s', label: '', better: 'higher' as const }, raw: { unit: 'q/s', label: '', better: 'higher' as const } },
    ratios: { share: { numerator: 'qopt', denominator: 'raw', label: '', target: '≥ 0.95' } },
  };
  const baseline = { b: result({ qopt: figure(950), raw: figure(1000) }) };

  it('ignores a machine-wide slowdown that moves both sides and fails when qopt alone slows down', () => {
    const busier = compareRatiosWithBaseline(result({ qopt: figure(475), raw: figure(500) }), baseline, ratioSpecs);
    expect(busier[0]!.regressed).toBe(false);
    const slower = compareRatiosWithBaseline(result({ qopt: figure(600), raw: figure(1000) }), baseline, ratioSpecs);
    expect(slower[0]!.regressed).toBe(true);
  });
});
