import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adviseIndexes } from '../../src/advise/advisor.js';
import { runHealthChecks } from '../../src/advise/health/runHealth.js';
import type { Driver } from '../../src/db/driver.js';
import { openDriver } from '../../src/db/openDriver.js';
import { query } from './support.js';

describe('the advisor without HypoPG (embedded PGlite)', () => {
  let driver: Driver;

  beforeAll(async () => {
    driver = await openDriver('memory:');
    await driver.exec(`
      CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, total numeric NOT NULL);
      INSERT INTO orders SELECT i, i % 5000, (ARRAY['open', 'paid', 'shipped'])[i % 3 + 1], i % 1000 FROM generate_series(1, 50000) AS i;
      ANALYZE orders;`);
  });

  afterAll(async () => {
    await driver?.close();
  });

  it('falls back to the statistics-only estimator, labelled low confidence, and still finds the lookup index', async () => {
    const report = await adviseIndexes(driver, [query('SELECT id, total FROM orders WHERE customer_id = $1', 100, 500)]);
    expect(report.evaluator).toBe('statistics');
    expect(report.confidence).toBe('low');
    expect(report.recommendations[0]!.candidate.keys[0]!.text).toBe('customer_id');
    expect(report.queries[0]!.predictedGain).toBeGreaterThan(0.5);
  });

  it('refuses to pretend HypoPG is there when it is required', async () => {
    await expect(adviseIndexes(driver, [query('SELECT id FROM orders WHERE customer_id = $1', 1, 1)], { evaluator: 'hypopg' })).rejects.toThrow(/HypoPG is not available/);
  });

  it('finds a prefix-covered index on PGlite too', async () => {
    await driver.exec('CREATE INDEX orders_customer ON orders (customer_id); CREATE INDEX orders_customer_status ON orders (customer_id, status);');
    const report = await runHealthChecks(driver, { checks: ['duplicate-indexes'] });
    expect(report.schemas).toEqual(['public']);
    expect(report.findings.map((finding) => finding.object)).toEqual(['orders_customer']);
  });
});
