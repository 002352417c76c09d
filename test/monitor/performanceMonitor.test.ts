import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

describe('performance monitor stats', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_monitor_stats');
    qo = await createOptimizer({ cache: { enabled: false }, database: { url: schema.url } });
    await qo.query('CREATE TABLE orders (id int PRIMARY KEY, customer int, total int)');
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it('lists each fingerprint with its complexity score, computed once when listed and never while recording', async () => {
    const scoring = vi.spyOn(qo.monitor.complexity, 'of');
    const joinSql = 'SELECT o.id FROM orders o JOIN orders p ON p.customer = o.customer WHERE o.total > $1';
    try {
      for (let total = 0; total < 5; total += 1) await qo.query(joinSql, [total]);
      await qo.query('SELECT id FROM orders WHERE id = $1', [1]);
      expect(scoring).not.toHaveBeenCalled();
      const fingerprint = qo.analyze(joinSql).fingerprint;
      const first = qo.monitor.stats().find((stats) => stats.fingerprint === fingerprint)!;
      expect(first.calls).toBe(5);
      expect(first.complexity!.factors.map((factor) => factor.factor)).toContain('joins');
      const again = qo.monitor.stats(1).find((stats) => stats.fingerprint === fingerprint)!;
      expect(again.complexity).toBe(first.complexity);
    } finally {
      scoring.mockRestore();
    }
  });
});
