import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adviseIndexes } from '../../src/advise/advisor.js';
import { adviseStatistics, applyStatistics } from '../../src/advise/extendedStatistics.js';
import { PgDriver } from '../../src/db/pgDriver.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { query } from './support.js';

let schema: TestSchema;
let driver: PgDriver;

beforeAll(async () => {
  schema = await createTestSchema('qopt_adv_stats');
  driver = new PgDriver({ connectionString: schema.url, poolMax: 2 });
  // cells: tab_id determines sheet_id (each tab belongs to one sheet); flips: two independent columns.
  await driver.exec(`
    CREATE TABLE cells (id int PRIMARY KEY, sheet_id int NOT NULL, tab_id int NOT NULL, v int NOT NULL);
    INSERT INTO cells SELECT g, (g % 400) / 4, g % 400, g FROM generate_series(1, 100000) g;
    CREATE TABLE flips (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL);
    INSERT INTO flips SELECT g, g % 97, (g * 7919) % 89 FROM generate_series(1, 100000) g;
    ANALYZE cells; ANALYZE flips;`);
});

afterAll(async () => {
  await driver.close();
  await schema.drop();
});

describe('extended statistics advice', () => {
  const correlated = query('SELECT id, v FROM cells WHERE sheet_id = $1 AND tab_id = $2', 50, 100);
  const independent = query('SELECT id FROM flips WHERE a = $1 AND b = $2', 50, 100);

  it('recommends dependencies on a correlated pair, proving the estimate it corrects, and nothing on an independent pair', async () => {
    const { recommendations: advice, skipped } = await adviseStatistics(driver, [correlated, independent]);
    expect(skipped).toEqual([]);
    expect(advice).toHaveLength(1);
    const [recommendation] = advice;
    expect(recommendation).toMatchObject({ table: 'cells', columns: ['sheet_id', 'tab_id'] });
    expect(recommendation!.definition).toBe('CREATE STATISTICS IF NOT EXISTS qopt_stat_cells_sheet_id_tab_id (dependencies, ndistinct) ON sheet_id, tab_id FROM cells');
    expect(recommendation!.dependencies['tab_id => sheet_id']).toBeGreaterThan(0.99);
    const [estimate] = recommendation!.queries;
    // 100,000 rows, 400 tabs: 250 rows per tab. Independence gives 250 / 100 sheets = 2.5.
    expect(estimate!.estimatedRowsBefore).toBeLessThan(10);
    expect(estimate!.estimatedRowsAfter).toBeGreaterThan(100);
    // The probe left nothing behind.
    expect((await driver.query("SELECT count(*)::int AS n FROM pg_statistic_ext WHERE stxname LIKE 'qopt_stat_%'")).rows).toEqual([{ n: 0 }]);
  });

  it('applies a recommendation, and then no longer recommends it', async () => {
    const [recommendation] = (await adviseStatistics(driver, [correlated])).recommendations;
    expect(await applyStatistics(driver, [recommendation!])).toEqual(['qopt_stat_cells_sheet_id_tab_id']);
    const plan = await driver.explain('SELECT id, v FROM cells WHERE sheet_id = 12 AND tab_id = 50');
    expect(plan.plan['Plan Rows']).toBeGreaterThan(100);
    expect((await adviseStatistics(driver, [correlated])).recommendations).toEqual([]);
    await driver.exec('DROP STATISTICS qopt_stat_cells_sheet_id_tab_id');
  });

  // jsonb_build_object takes "any": PREPARE cannot type $3 (the sheets workload's hydrated_page, normalized).
  const untypeable = query('SELECT id, jsonb_build_object($3, v) AS cell FROM cells WHERE sheet_id = $1 AND tab_id = $2', 10, 20);

  it('skips a statement whose parameter type PostgreSQL cannot determine, with the reason, and advises on the rest', async () => {
    const advice = await adviseStatistics(driver, [untypeable, correlated]);
    expect(advice.skipped).toEqual([{ fingerprint: untypeable.fingerprint, sql: untypeable.sql, reason: 'could not determine data type of parameter $3' }]);
    expect(advice.recommendations.map((recommendation) => recommendation.name)).toEqual(['qopt_stat_cells_sheet_id_tab_id']);
    expect(advice.recommendations[0]!.queries.map((estimate) => estimate.fingerprint)).toEqual([correlated.fingerprint]);
    expect((await driver.query("SELECT count(*)::int AS n FROM pg_statistic_ext WHERE stxname LIKE 'qopt_stat_%'")).rows).toEqual([{ n: 0 }]);
  });

  it('reports the un-plannable statement in the index advice and completes it', async () => {
    const report = await adviseIndexes(driver, [untypeable, correlated]);
    expect(report.skipped).toEqual([{ fingerprint: untypeable.fingerprint, sql: untypeable.sql, reason: 'could not determine data type of parameter $3' }]);
    expect(report.queries.map((prediction) => prediction.fingerprint)).toEqual([correlated.fingerprint]);
    expect(report.statistics.map((recommendation) => recommendation.name)).toEqual(['qopt_stat_cells_sheet_id_tab_id']);
  });
});
