import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etlWorkload } from '../../bench/workloads/etl.js';
import { marketWorkload } from '../../bench/workloads/market.js';
import { sheetsWorkload } from '../../bench/workloads/sheets.js';
import { loadWorkload, quietProgress } from '../../bench/workloads/workload.js';
import type { Workload } from '../../bench/workloads/workload.js';
import { adviseIndexes } from '../../src/advise/advisor.js';
import type { AdviceReport } from '../../src/advise/advisor.js';
import type { Driver } from '../../src/db/driver.js';
import { openDriver } from '../../src/db/openDriver.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { seedWorkloadQueries } from './support.js';

function keysOf(report: AdviceReport, table: string): string[] {
  return report.recommendations
    .filter((recommendation) => recommendation.table === table)
    .map((recommendation) => recommendation.candidate.keys.map((key) => `${key.text}${key.descending ? ' DESC' : ''}`).join(', '));
}

async function adviseOn(workload: Workload, scale: number): Promise<{ report: AdviceReport; again: AdviceReport }> {
  const schema: TestSchema = await createTestSchema(`qopt_advise_${workload.name}`);
  const driver: Driver = await openDriver(schema.url);
  try {
    await loadWorkload(driver, workload, scale, quietProgress);
    const queries = seedWorkloadQueries(workload, scale);
    const report = await adviseIndexes(driver, queries, { installHypopg: true });
    const again = await adviseIndexes(driver, queries, { installHypopg: true });
    return { report, again };
  } finally {
    await driver.close();
    await schema.drop();
  }
}

describe('the index advisor on the seed workloads (HypoPG on real PostgreSQL)', () => {
  const reports = new Map<string, { report: AdviceReport; again: AdviceReport }>();

  beforeAll(async () => {
    reports.set('market', await adviseOn(marketWorkload, 0.2));
    reports.set('sheets', await adviseOn(sheetsWorkload, 0.1));
    reports.set('etl', await adviseOn(etlWorkload, 0.05));
  });

  afterAll(() => reports.clear());

  it('proposes the market (symbol, date) index and the date index for the sector aggregate, as the seed does', () => {
    const { report } = reports.get('market')!;
    expect(report.evaluator).toBe('hypopg');
    expect(report.confidence).toBe('high');
    expect(keysOf(report, 'prices')).toEqual(expect.arrayContaining(['symbol, date', 'date']));
    const history = report.queries.find((query) => query.name === 'price_history')!;
    expect(history.predictedGain).toBeGreaterThan(0.9);
  });

  it("proposes the sheets latest-lookup composite (sheet_id, tab_id, row_id, versioned_column_id, updated_at DESC)", () => {
    const { report } = reports.get('sheets')!;
    expect(keysOf(report, 'cells')).toContain('sheet_id, tab_id, row_id, versioned_column_id, updated_at DESC');
    expect(report.queries.find((query) => query.name === 'latest_cells')!.predictedGain).toBeGreaterThan(0.5);
    // A tab belongs to one sheet: the planner must be told, or it multiplies two selectivities.
    expect(report.statistics.map((statistics) => [statistics.table, statistics.columns])).toContainEqual(['cells', ['sheet_id', 'tab_id']]);
  });

  it('proposes execution-monitoring indexes at least as good as the ETL seed (status → started_at, pipeline_id, started_by_id)', () => {
    const { report } = reports.get('etl')!;
    const keys = keysOf(report, 'pipeline_executions');
    expect(keys.some((key) => key.startsWith('status, started_at'))).toBe(true);
    expect(keys.some((key) => key.startsWith('pipeline_id'))).toBe(true);
    expect(keys.some((key) => key.startsWith('started_by_id'))).toBe(true);
  });

  it('gives identical recommendations for identical input', () => {
    for (const { report, again } of reports.values()) {
      expect(again.recommendations.map((recommendation) => recommendation.definition)).toEqual(report.recommendations.map((recommendation) => recommendation.definition));
    }
  });

  it('emits only CREATE INDEX CONCURRENTLY statements sized within the budget it was given', () => {
    for (const { report } of reports.values()) {
      for (const recommendation of report.recommendations) {
        expect(recommendation.definition).toMatch(/^CREATE INDEX CONCURRENTLY qopt_/);
        expect(recommendation.estimatedBytes).toBeGreaterThan(0);
      }
    }
  });
});
