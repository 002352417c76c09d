import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatBenchResult, median, runBenchmark, summarize, writeBenchResult } from '../../bench/harness.js';
import type { Benchmark, BenchContext } from '../../bench/harness.js';

const context: BenchContext = { quick: true, runs: 5, databaseUrl: undefined, redisUrl: undefined, log: () => {} };

describe('bench harness', () => {
  it('computes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
  });

  it('summarizes samples into min, median and max', () => {
    expect(summarize([5, 1, 9, 3, 7], { unit: 'ms', label: 'x' })).toMatchObject({ min: 1, median: 5, max: 9, unit: 'ms' });
  });

  it('runs setup once, measure per run and teardown, and computes ratios from medians', async () => {
    const calls: string[] = [];
    const benchmark: Benchmark<{ base: number }> = {
      name: 'fake',
      description: 'a benchmark with known samples',
      figures: { slow: { unit: 'ms', label: 'slow path' }, fast: { unit: 'ms', label: 'fast path' } },
      ratios: { speedup: { numerator: 'slow', denominator: 'fast', label: 'slow / fast', target: '≥ 2×' } },
      async setup() {
        calls.push('setup');
        return { base: 10 };
      },
      async measure(state, _context, run) {
        calls.push(`measure ${run}`);
        return { slow: state.base * 4 + run, fast: state.base + run };
      },
      async teardown() {
        calls.push('teardown');
      },
    };
    const result = await runBenchmark(benchmark, context);
    expect(calls).toEqual(['setup', 'measure 1', 'measure 2', 'measure 3', 'measure 4', 'measure 5', 'teardown']);
    expect(result.figures.slow).toMatchObject({ min: 41, median: 43, max: 45 });
    expect(result.figures.fast).toMatchObject({ min: 11, median: 13, max: 15 });
    expect(result.ratios.speedup).toBeCloseTo(43 / 13, 10);
    const text = formatBenchResult(result, benchmark);
    expect(text).toContain('slow path');
    expect(text).toContain('slow / fast: 3.31×  (target ≥ 2×)');
  });

  it('tears down even when a run fails', async () => {
    let tornDown = false;
    const benchmark: Benchmark<null> = {
      name: 'broken',
      description: 'fails on run 2',
      figures: { x: { unit: 'ms', label: 'x' } },
      setup: async () => null,
      measure: async (_state, _context, run) => {
        if (run === 2) throw new Error('boom');
        return { x: 1 };
      },
      teardown: async () => {
        tornDown = true;
      },
    };
    await expect(runBenchmark(benchmark, context)).rejects.toThrow('boom');
    expect(tornDown).toBe(true);
  });

  it('rejects a figure the benchmark did not declare', async () => {
    const benchmark: Benchmark<null> = {
      name: 'undeclared',
      description: '',
      figures: { x: { unit: 'ms', label: 'x' } },
      setup: async () => null,
      measure: async () => ({ y: 1 }),
    };
    await expect(runBenchmark(benchmark, { ...context, runs: 1 })).rejects.toThrow(/undeclared figure "y"/);
  });

  it('writes bench/results/NAME.json in the documented shape', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qopt-bench-'));
    const benchmark: Benchmark<null> = {
      name: 'shape',
      description: 'shape check',
      figures: { a: { unit: 'µs/call', label: 'a' }, b: { unit: 'µs/call', label: 'b' } },
      ratios: { a_over_b: { numerator: 'a', denominator: 'b', label: 'a / b' } },
      setup: async () => null,
      measure: async () => ({ a: 4, b: 2 }),
    };
    const path = writeBenchResult(await runBenchmark(benchmark, { ...context, runs: 2 }), root);
    expect(path).toBe(join(root, 'bench', 'results', 'shape.json'));
    const written = JSON.parse(readFileSync(path, 'utf8'));
    expect(written).toMatchObject({ name: 'shape', runs: 2, ratios: { a_over_b: 2 } });
    expect(written.figures.a).toMatchObject({ min: 4, median: 4, max: 4, unit: 'µs/call' });
  });
});
