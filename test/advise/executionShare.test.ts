import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adviseIndexes } from '../../src/advise/advisor.js';
import { PgDriver } from '../../src/db/pgDriver.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { query } from './support.js';

let schema: TestSchema;
let driver: PgDriver;

beforeAll(async () => {
  schema = await createTestSchema('qopt_adv_share');
  driver = new PgDriver({ connectionString: schema.url, poolMax: 2 });
  await driver.exec(`CREATE TABLE events (id int PRIMARY KEY, kind int NOT NULL, payload text NOT NULL);
    INSERT INTO events SELECT g, g % 1000, repeat('x', 40) FROM generate_series(1, 60000) g; ANALYZE events;`);
});

afterAll(async () => {
  await driver.close();
  await schema.drop();
});

describe('predicted gains scaled by the share of time a better plan can shrink', () => {
  const sql = 'SELECT id, payload FROM events WHERE kind = $1';
  const samples = [[1], [2], [3]];

  it('scales the plan’s gain by execution time / observed time per call, and leaves it whole without timings', async () => {
    // The same query, once said to take far longer per call than it executes (most of its time elsewhere), once without timings.
    const slowClient = await adviseIndexes(driver, [query(sql, 3, 3 * 60_000, samples)], { evaluator: 'hypopg', installHypopg: true, statistics: false });
    const [prediction] = slowClient.queries;
    expect(slowClient.recommendations.map((recommendation) => recommendation.candidate.keys.map((key) => key.text))).toContainEqual(['kind']);
    expect(prediction!.executionShare).toBeGreaterThan(0);
    expect(prediction!.executionShare).toBeLessThan(0.01);
    expect(prediction!.predictedGain).toBeCloseTo((1 - prediction!.costAfter / prediction!.costBefore) * prediction!.executionShare, 10);

    const untimed = await adviseIndexes(driver, [query(sql, 3, null, samples)], { evaluator: 'hypopg', installHypopg: true, statistics: false });
    expect(untimed.queries[0]!.executionShare).toBe(1);
    expect(untimed.queries[0]!.predictedGain).toBeCloseTo(1 - untimed.queries[0]!.costAfter / untimed.queries[0]!.costBefore, 10);
  });

  it('never counts more than the whole observed time', async () => {
    const report = await adviseIndexes(driver, [query(sql, 3, 0.000_003, samples)], { evaluator: 'hypopg', installHypopg: true, statistics: false });
    expect(report.queries[0]!.executionShare).toBe(1);
  });
});
