import { describe, expect, it } from 'vitest';
import { runConsistencyCheck } from '../../bench/cache/consistencyChecker.js';
import { DATABASE_URL } from '../support/postgres.js';
import { REDIS_URL } from './support.js';

describe('randomized consistency checker (small size)', () => {
  for (const mode of ['l1', 'l1+l2', 'two-instances'] as const) {
    it(`finds zero stale reads with ${mode}`, async () => {
      const report = await runConsistencyCheck({ mode, databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, operations: 800, seed: 11 });
      expect(report.operations).toBe(800);
      expect(report.examples).toEqual([]);
      expect(report.staleReads).toBe(0);
      expect(report.cacheHits).toBeGreaterThan(0);
    }, 30_000);
  }

  it('catches stale reads when writes go around the cache (the checker can fail)', async () => {
    const report = await runConsistencyCheck({ mode: 'l1', databaseUrl: DATABASE_URL, operations: 800, seed: 11, bypassInvalidation: true });
    expect(report.staleReads).toBeGreaterThan(0);
  }, 30_000);
});
