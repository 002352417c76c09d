import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** What every benchmark receives. */
export interface BenchContext {
  /** Finish in under a minute: smaller data, fewer iterations. */
  quick: boolean;
  /** Repetitions of the measurement (each gives one sample per figure). */
  runs: number;
  /** `--database` / DATABASE_URL, when given. */
  databaseUrl: string | undefined;
  /** `--redis` / REDIS_URL, when given. */
  redisUrl: string | undefined;
  /** A progress line for the person watching (stderr). */
  log(message: string): void;
}

/** One figure of a benchmark: its unit and which way is better. */
export interface FigureSpec {
  unit: string;
  /** A sentence a reader understands, printed beside the number. */
  label: string;
  better?: 'lower' | 'higher';
}

/** A ratio computed from the medians of two figures: numerator / denominator. */
export interface RatioSpec {
  numerator: string;
  denominator: string;
  label: string;
  /** The target it should meet, as text (printed, not enforced). */
  target?: string;
}

/** A benchmark that runs on the harness: prepare once, measure `runs` times, clean up. */
export interface Benchmark<State = unknown> {
  name: string;
  description: string;
  figures: Record<string, FigureSpec>;
  ratios?: Record<string, RatioSpec>;
  setup(context: BenchContext): Promise<State>;
  /** One run: a value for every figure. */
  measure(state: State, context: BenchContext, run: number): Promise<Record<string, number>>;
  teardown?(state: State, context: BenchContext): Promise<void>;
}

/** min / median / max of one figure's samples. */
export interface FigureSummary {
  min: number;
  median: number;
  max: number;
  unit: string;
  label: string;
  samples: number[];
}

/** What `bench/results/NAME.json` holds. */
export interface BenchResult {
  name: string;
  description: string;
  runs: number;
  quick: boolean;
  startedAt: string;
  environment: { node: string; platform: string; cpus: number };
  figures: Record<string, FigureSummary>;
  ratios: Record<string, number>;
}

/** The median of a list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Summarizes samples into min / median / max. */
export function summarize(samples: readonly number[], spec: FigureSpec): FigureSummary {
  return {
    min: Math.min(...samples),
    median: median(samples),
    max: Math.max(...samples),
    unit: spec.unit,
    label: spec.label,
    samples: [...samples],
  };
}

/** Runs a benchmark end to end and returns its result (without writing it). */
export async function runBenchmark<State>(benchmark: Benchmark<State>, context: BenchContext): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  context.log(`${benchmark.name}: setting up`);
  const state = await benchmark.setup(context);
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(benchmark.figures).map((name) => [name, []]));
  try {
    for (let run = 1; run <= context.runs; run += 1) {
      context.log(`${benchmark.name}: run ${run}/${context.runs}`);
      const values = await benchmark.measure(state, context, run);
      for (const [name, value] of Object.entries(values)) {
        if (!(name in samples)) throw new Error(`benchmark ${benchmark.name} measured an undeclared figure "${name}"`);
        samples[name]!.push(value);
      }
    }
  } finally {
    await benchmark.teardown?.(state, context);
  }
  const figures: Record<string, FigureSummary> = {};
  for (const [name, spec] of Object.entries(benchmark.figures)) {
    if (samples[name]!.length > 0) figures[name] = summarize(samples[name]!, spec);
  }
  const ratios: Record<string, number> = {};
  for (const [name, spec] of Object.entries(benchmark.ratios ?? {})) {
    const numerator = figures[spec.numerator];
    const denominator = figures[spec.denominator];
    if (numerator && denominator && denominator.median !== 0) ratios[name] = numerator.median / denominator.median;
  }
  return {
    name: benchmark.name,
    description: benchmark.description,
    runs: context.runs,
    quick: context.quick,
    startedAt,
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: (await import('node:os')).cpus().length },
    figures,
    ratios,
  };
}

/** Writes `bench/results/NAME.json` under `root` and returns its path. */
export function writeBenchResult(result: BenchResult, root = process.cwd()): string {
  const path = resolve(root, 'bench', 'results', `${result.name}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return value.toFixed(0);
  if (magnitude >= 100) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** The table a person reads: one line per figure (min / median / max) and one per ratio. */
export function formatBenchResult(result: BenchResult, benchmark: Benchmark<never> | Benchmark<unknown>): string {
  const lines = [`${result.name}: ${result.description} (${result.runs} runs${result.quick ? ', quick' : ''})`, ''];
  const rows = Object.entries(result.figures).map(([name, figure]) => [
    figure.label || name,
    formatNumber(figure.min),
    formatNumber(figure.median),
    formatNumber(figure.max),
    figure.unit,
  ]);
  const header = ['figure', 'min', 'median', 'max', 'unit'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  lines.push(render(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(render));
  const ratios = Object.entries(result.ratios);
  if (ratios.length > 0) {
    lines.push('', 'ratios (of medians):');
    for (const [name, value] of ratios) {
      const spec = benchmark.ratios?.[name];
      lines.push(`  ${spec?.label ?? name}: ${formatNumber(value)}×${spec?.target ? `  (target ${spec.target})` : ''}`);
    }
  }
  return lines.join('\n');
}

/** Times `iterations` calls of `work` and returns the mean cost of one call in microseconds. */
export async function timePerCallMicros(iterations: number, work: (index: number) => unknown): Promise<number> {
  const started = process.hrtime.bigint();
  for (let index = 0; index < iterations; index += 1) await work(index);
  return Number(process.hrtime.bigint() - started) / 1000 / iterations;
}

/** Times `iterations` synchronous calls (no await between them) in microseconds per call. */
export function timePerCallMicrosSync(iterations: number, work: (index: number) => unknown): number {
  const started = process.hrtime.bigint();
  for (let index = 0; index < iterations; index += 1) work(index);
  return Number(process.hrtime.bigint() - started) / 1000 / iterations;
}
