import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sheetsWorkload } from '../../bench/workloads/sheets.js';
import { loadWorkload, quietProgress } from '../../bench/workloads/workload.js';
import { openDriver } from '../../src/db/openDriver.js';
import type { Driver } from '../../src/db/driver.js';
import { createOptimizer } from '../../src/optimizer.js';
import { sameBag } from '../../src/rewrite/bag.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

const FILTERS = sheetsWorkload.queries.find((query) => query.name === 'filter_rows_self_join')!.sql;
const PARAMS = [1, 1, 'v7', 0, 8000, '2020-06-01'];

describe('Optimizer findings, optimizeQuery and automatic rewriting (sheets workload, real PostgreSQL)', () => {
  let schema: TestSchema;
  let driver: Driver;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_optimize');
    driver = await openDriver(schema.url, { poolMax: 3 });
    await loadWorkload(driver, sheetsWorkload, 0.05, quietProgress);
    for (const statement of sheetsWorkload.seedIndexes) await driver.exec(statement);
    await driver.exec('VACUUM ANALYZE cells, rows');
  });

  afterAll(async () => {
    await driver.close();
    await schema.drop();
  });

  it('findings name the latest-row window and the self-join per filter, with the plan cost', async () => {
    const qo = await createOptimizer({ driver, optimization: { maxOptimizationTimeMs: 60_000 } });
    const report = await qo.findings(FILTERS, PARAMS, { analyze: true });
    expect(report.plan?.analyzed).toBe(true);
    expect(report.findings.map((finding) => finding.rule)).toEqual(expect.arrayContaining(['latest-row-window', 'self-join-per-filter']));
    expect(report.plan?.cost.totalCost).toBeGreaterThan(0);
    expect(report.rewrites).toBeNull();
  });

  it('optimizeQuery at level 3 proves the sheets rewrite cheaper and equal, or says why not', async () => {
    const qo = await createOptimizer({ driver, optimization: { level: 3, maxOptimizationTimeMs: 60_000 } });
    const report = await qo.optimizeQuery(FILTERS, PARAMS);
    const verified = report.rewrites!.verified;
    expect(verified.length).toBeGreaterThan(0);
    for (const rewrite of verified) expect(rewrite.verdict.proven).toBe(rewrite.verdict.reasons.length === 0);
    const best = report.rewrites!.best;
    expect(best?.rules).toContain('inline-filtered-cte');
    expect(best!.verdict.costRatio).toBeLessThanOrEqual(0.9);
    expect(best!.verdict.improvementPercent).toBeGreaterThan(10);
  });

  it('level 0 (or optimization disabled) does nothing; a tiny time budget stops before verification', async () => {
    const off = await createOptimizer({ driver, optimization: { enabled: false } });
    expect((await off.optimizeQuery(FILTERS, PARAMS)).findings).toEqual([]);
    const hurried = await createOptimizer({ driver, optimization: { level: 3, maxOptimizationTimeMs: 1 } });
    const report = await hurried.optimizeQuery(FILTERS, PARAMS);
    expect(report.truncated).not.toBeNull();
  });

  it('automatic rewriting applies the proven rewrite of a hot query transparently, with unchanged rows', async () => {
    // The result cache would answer the repeated calls itself; this test is about the executed statement.
    const qo = await createOptimizer({ driver, cache: { enabled: false }, optimization: { automaticRewriting: true, level: 3, maxOptimizationTimeMs: 60_000 } });
    const expected = await driver.query(FILTERS, PARAMS);
    for (let call = 0; call < 20; call += 1) expect(sameBag(expected, await qo.query(FILTERS, PARAMS)).equal).toBe(true);
    for (let wait = 0; wait < 200 && qo.autoRewriter!.events.length === 0; wait += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(qo.autoRewriter!.events[0]?.action).toBe('applied');
    expect(qo.autoRewriter!.appliedRewrite(FILTERS)?.rules).toContain('inline-filtered-cte');
    for (let call = 0; call < 5; call += 1) expect(sameBag(expected, await qo.query(FILTERS, PARAMS)).equal).toBe(true);
  });
});
