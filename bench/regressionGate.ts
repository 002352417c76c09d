import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Benchmark, BenchResult, FigureSummary } from './harness.js';

/** `bench/baseline.json`: the accepted result of each benchmark, by name. */
export type Baseline = Record<string, Pick<BenchResult, 'name' | 'quick' | 'runs' | 'startedAt' | 'figures'>>;

/** One figure compared with its baseline. */
export interface FigureComparison {
  figure: string;
  better: 'lower' | 'higher';
  baseline: number;
  current: number;
  /** current / baseline − 1, signed so that a positive value is always worse. */
  worseBy: number;
  /** The allowed worsening: the larger of the floor and both runs' own spread. */
  noiseBand: number;
  regressed: boolean;
}

/** The smallest band a figure gets, however steady its samples looked. */
export const MIN_NOISE_BAND = 0.1;

function spread(figure: Pick<FigureSummary, 'min' | 'max' | 'median'>): number {
  return figure.median === 0 ? 0 : (figure.max - figure.min) / (2 * Math.abs(figure.median));
}

function ratioDirection(target: string | undefined): 'lower' | 'higher' | undefined {
  if (target?.startsWith('≥')) return 'higher';
  if (target?.startsWith('≤')) return 'lower';
  return undefined;
}

/**
 * Compares the ratios a benchmark declares with a target (qopt vs a reference measured side by side
 * in the same run, so a busier machine moves both sides). The band is the sum of the two figures'
 * spreads in either run, at least MIN_NOISE_BAND.
 */
export function compareRatiosWithBaseline(result: BenchResult, baseline: Baseline, benchmark: Pick<Benchmark, 'figures' | 'ratios'>): FigureComparison[] {
  const accepted = baseline[result.name];
  if (!accepted) return [];
  const comparisons: FigureComparison[] = [];
  for (const [name, spec] of Object.entries(benchmark.ratios ?? {})) {
    const better = ratioDirection(spec.target);
    const [num, den] = [result.figures[spec.numerator], result.figures[spec.denominator]];
    const [baseNum, baseDen] = [accepted.figures[spec.numerator], accepted.figures[spec.denominator]];
    if (!better || !num || !den || !baseNum || !baseDen || den.median === 0 || baseDen.median === 0) continue;
    const current = num.median / den.median;
    const before = baseNum.median / baseDen.median;
    const worseBy = better === 'lower' ? current / before - 1 : before / current - 1;
    const noiseBand = Math.max(MIN_NOISE_BAND, spread(num) + spread(den), spread(baseNum) + spread(baseDen));
    comparisons.push({ figure: `ratio ${name}`, better, baseline: before, current, worseBy, noiseBand, regressed: worseBy > noiseBand });
  }
  return comparisons;
}

/**
 * Compares a result's absolute medians with the baseline's. A figure regresses when it is worse by
 * more than its noise band: half the min–max range of either run relative to its median, at least
 * MIN_NOISE_BAND. Figures with no direction (`better` unset) are not judged. On a shared machine
 * absolute figures move with the load; the ratios are the default gate.
 */
export function compareWithBaseline(result: BenchResult, baseline: Baseline, benchmark: Pick<Benchmark, 'figures'>): FigureComparison[] {
  const accepted = baseline[result.name];
  if (!accepted) return [];
  const comparisons: FigureComparison[] = [];
  for (const [name, current] of Object.entries(result.figures)) {
    const before = accepted.figures[name];
    const better = benchmark.figures[name]?.better;
    if (!before || !better || before.median === 0) continue;
    const ratio = current.median / before.median;
    const worseBy = better === 'lower' ? ratio - 1 : 1 / ratio - 1;
    const noiseBand = Math.max(MIN_NOISE_BAND, spread(before), spread(current));
    comparisons.push({ figure: name, better, baseline: before.median, current: current.median, worseBy, noiseBand, regressed: worseBy > noiseBand });
  }
  return comparisons;
}

/** Reads a baseline file (an empty baseline when it does not exist yet). */
export function readBaseline(path: string): Baseline {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Baseline) : {};
}

/** Stores `result` as the accepted figures of its benchmark, keeping the others. */
export function updateBaseline(path: string, result: BenchResult): void {
  const baseline = readBaseline(path);
  baseline[result.name] = { name: result.name, quick: result.quick, runs: result.runs, startedAt: result.startedAt, figures: result.figures };
  writeFileSync(path, `${JSON.stringify(baseline, null, 2)}\n`);
}

/** The gate's table: one line per figure, REGRESSED where it failed. */
export function formatComparison(comparisons: readonly FigureComparison[]): string {
  if (comparisons.length === 0) return 'no baseline figures to compare';
  return comparisons
    .map((c) => {
      const change = `${c.worseBy > 0 ? 'worse' : 'better'} by ${(Math.abs(c.worseBy) * 100).toFixed(1)}%`;
      return `${c.regressed ? 'REGRESSED' : 'ok       '} ${c.figure}: ${c.baseline.toPrecision(4)} → ${c.current.toPrecision(4)} (${change}, band ${(c.noiseBand * 100).toFixed(0)}%)`;
    })
    .join('\n');
}
