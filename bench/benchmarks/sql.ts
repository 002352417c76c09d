import { parseSync } from 'libpg-query';
import { analyzeSqlUncached, SqlAnalyzer } from '../../src/sql/analyze.js';
import { timePerCallMicrosSync } from '../harness.js';
import type { Benchmark } from '../harness.js';
import { workloads } from '../workloads/index.js';

interface SqlBenchState {
  texts: string[];
  analyzer: SqlAnalyzer;
}

/** The cost of qopt's SQL analysis on the hot path: memoized, cold, and a bare parse for reference. */
export const sqlBenchmark: Benchmark<SqlBenchState> = {
  name: 'sql',
  description: 'analyzeSql on the seed workloads’ statements: memoized vs cold vs a bare libpg-query parse',
  figures: {
    memoized_analyze_us: { unit: 'µs/call', label: 'analyzeSql, memoized (repeated text)', better: 'lower' },
    cold_analyze_us: { unit: 'µs/call', label: 'analyzeSql, cold (parse + fingerprint + normalize + references)', better: 'lower' },
    bare_parse_us: { unit: 'µs/call', label: 'bare libpg-query parseSync', better: 'lower' },
  },
  ratios: {
    cold_vs_memoized: { numerator: 'cold_analyze_us', denominator: 'memoized_analyze_us', label: 'cold analysis / memoized analysis' },
    bare_parse_vs_memoized: { numerator: 'bare_parse_us', denominator: 'memoized_analyze_us', label: 'bare parse / memoized analysis' },
  },
  async setup() {
    const texts = workloads.flatMap((workload) => [...workload.queries.map((query) => query.sql), ...workload.loops.map((loop) => loop.query)]);
    const analyzer = new SqlAnalyzer();
    for (const text of texts) analyzer.analyze(text);
    return { texts, analyzer };
  },
  async measure({ texts, analyzer }, context) {
    const hot = context.quick ? 200_000 : 1_000_000;
    const cold = context.quick ? 400 : 2_000;
    const count = texts.length;
    return {
      memoized_analyze_us: timePerCallMicrosSync(hot, (index) => analyzer.analyze(texts[index % count]!)),
      cold_analyze_us: timePerCallMicrosSync(cold, (index) => analyzeSqlUncached(texts[index % count]!)),
      bare_parse_us: timePerCallMicrosSync(cold, (index) => parseSync(texts[index % count]!)),
    };
  },
};
