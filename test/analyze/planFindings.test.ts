import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costEstimate, improvementPercent } from '../../src/analyze/cost.js';
import { planFindings } from '../../src/analyze/planFindings.js';
import type { Driver, ExplainResult, PlanNode } from '../../src/db/driver.js';
import { openDriver } from '../../src/db/openDriver.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

function node(type: string, extra: Partial<PlanNode> = {}): PlanNode {
  return { 'Node Type': type, 'Total Cost': 100, 'Startup Cost': 0, 'Plan Rows': 10, 'Plan Width': 8, ...extra };
}

function explainOf(plan: PlanNode, planningTimeMs: number | null = null, executionTimeMs: number | null = null): ExplainResult {
  return { plan, planningTimeMs, executionTimeMs, raw: {} };
}

describe('plan findings on real PostgreSQL plans', () => {
  let schema: TestSchema;
  let driver: Driver;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_plan');
    const url = new URL(schema.url);
    // Small work_mem makes the sort spill; autovacuum must not analyze the table behind the test's back.
    url.searchParams.set('options', `${url.searchParams.get('options')} -c work_mem=64kB`);
    driver = await openDriver(url.toString(), { poolMax: 1 });
    await driver.exec(`
      CREATE TABLE events (id bigint PRIMARY KEY, kind int NOT NULL, payload text NOT NULL) WITH (autovacuum_enabled = false);
      INSERT INTO events SELECT i, i % 100, repeat('x', 50) || i FROM generate_series(1, 20000) AS i;`);
  });

  afterAll(async () => {
    await driver.close();
    await schema.drop();
  });

  it('names a sequential scan that throws away most rows, and a sort spilling to disk', async () => {
    const explain = await driver.explain('SELECT id, payload FROM events WHERE kind = 7 ORDER BY payload', [], { analyze: true, buffers: true });
    const findings = planFindings(explain);
    const ids = findings.map((finding) => finding.id);
    expect(ids).toContain('seq-scan-filter');
    expect(findings.find((finding) => finding.id === 'seq-scan-filter')!.node).toBe('Seq Scan on events');
    const spill = await driver.explain('SELECT id, payload FROM events ORDER BY payload DESC', [], { analyze: true, buffers: true });
    expect(planFindings(spill).map((finding) => finding.id)).toContain('spill-to-disk');
  });

  it('reports heap fetches of an index-only scan on a table that was never vacuumed', async () => {
    await driver.exec('ANALYZE events; SET enable_seqscan = off; SET enable_bitmapscan = off');
    const explain = await driver.explain('SELECT id FROM events WHERE id BETWEEN 100 AND 5000', [], { analyze: true });
    await driver.exec('RESET enable_seqscan; RESET enable_bitmapscan');
    expect(explain.plan['Node Type']).toBe('Index Only Scan');
    const finding = planFindings(explain).find((candidate) => candidate.id === 'heap-fetches');
    expect(finding?.node).toBe('Index Only Scan on events using events_pkey');
    expect(finding?.fix).toContain('VACUUM');
  });

  it('says nothing about a cheap primary-key lookup', async () => {
    const explain = await driver.explain('SELECT payload FROM events WHERE id = $1', [42], { analyze: true, buffers: true });
    expect(planFindings(explain).filter((finding) => finding.id !== 'planning-dominates')).toEqual([]);
  });

  it('computes the estimated improvement percent from two real plans', async () => {
    const before = costEstimate(await driver.explain('SELECT count(*) FROM events WHERE kind = 7'));
    const after = costEstimate(await driver.explain('SELECT count(*) FROM events WHERE id = 7'));
    expect(before.totalCost).toBeGreaterThan(after.totalCost);
    expect(improvementPercent(before, after)).toBeGreaterThan(50);
    expect(improvementPercent(after, before)).toBeLessThan(0);
  });
});

describe('plan findings on plan shapes', () => {
  it('flags a row misestimate of at least 10×', () => {
    expect(planFindings(explainOf(node('Seq Scan', { 'Plan Rows': 10, 'Actual Rows': 5000, 'Actual Loops': 1 }))).map((f) => f.id)).toContain('row-misestimate');
    expect(planFindings(explainOf(node('Seq Scan', { 'Plan Rows': 10, 'Actual Rows': 50, 'Actual Loops': 1 }))).map((f) => f.id)).not.toContain('row-misestimate');
    expect(planFindings(explainOf(node('Seq Scan', { 'Plan Rows': 1, 'Actual Rows': 16, 'Actual Loops': 1 }))).map((f) => f.id)).not.toContain('row-misestimate');
    expect(planFindings(explainOf(node('Sort', { 'Plan Rows': 10, 'Actual Rows': 5000, 'Actual Loops': 1 }))).map((f) => f.id)).not.toContain('row-misestimate');
  });

  it('flags nested loops whose inner side runs many times, lossy bitmaps and dominating planning time', () => {
    const loop = node('Nested Loop', { Plans: [node('Seq Scan'), node('Index Scan', { 'Actual Loops': 5000, 'Actual Rows': 1, 'Plan Rows': 1 })] });
    expect(planFindings(explainOf(loop)).map((f) => f.id)).toContain('nested-loop-many');
    expect(planFindings(explainOf(node('Bitmap Heap Scan', { 'Lossy Heap Blocks': 120 }))).map((f) => f.id)).toContain('lossy-bitmap');
    expect(planFindings(explainOf(node('Result'), 5, 0.2)).map((f) => f.id)).toContain('planning-dominates');
    expect(planFindings(explainOf(node('Result'), 0.1, 5)).map((f) => f.id)).not.toContain('planning-dominates');
  });
});
