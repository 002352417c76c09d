import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adviseIndexes } from '../../src/advise/advisor.js';
import type { AdviceReport } from '../../src/advise/advisor.js';
import { applyRecommendations, cleanInvalidIndexes } from '../../src/advise/apply.js';
import { readWriteCounters } from '../../src/advise/catalog.js';
import { readHistory } from '../../src/advise/history.js';
import { candidateName, columnKey, createIndexStatement } from '../../src/advise/indexCandidate.js';
import type { IndexCandidate } from '../../src/advise/indexCandidate.js';
import { migrationSql } from '../../src/advise/migration.js';
import { openDriver } from '../../src/db/openDriver.js';
import type { PgDriver } from '../../src/db/pgDriver.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { query } from './support.js';

const LOOKUP = 'SELECT id, payload FROM events WHERE account_id = $1';

describe('write-aware selection and validated apply (real PostgreSQL)', () => {
  let schema: TestSchema;
  let driver: PgDriver;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_apply');
    driver = (await openDriver(schema.url)) as PgDriver;
    await driver.exec(`
      CREATE TABLE events (id bigint PRIMARY KEY, account_id int NOT NULL, flag boolean NOT NULL, payload text NOT NULL);
      INSERT INTO events SELECT i, i % 20000, i % 2 = 0, md5(i::text) FROM generate_series(1, 200000) AS i;
      ANALYZE events;`);
  });

  afterAll(async () => {
    await driver?.close();
    await schema?.drop();
  });

  it('proposes an index for a read-heavy lookup', async () => {
    const report = await adviseIndexes(driver, [query(LOOKUP, 1000, 5000, [[42]])], { installHypopg: true });
    expect(report.recommendations.map((recommendation) => recommendation.candidate.keys[0]!.text)).toContain('account_id');
  });

  it('plans a $n query without parameter samples generically, seeing each new hypothetical index', async () => {
    const report = await adviseIndexes(driver, [query(LOOKUP, 1000, 5000)], { installHypopg: true });
    expect(report.recommendations.map((recommendation) => recommendation.candidate.keys[0]!.text)).toContain('account_id');
    expect(report.queries[0]!.predictedGain).toBeGreaterThan(0.9);
  });

  it('proposes nothing on a write-heavy table whose index upkeep outweighs its reads', async () => {
    const workload = [query(LOOKUP, 10, 50, [[42]]), query('INSERT INTO events (id, account_id, flag, payload) VALUES ($1, $2, $3, $4)', 200000, 4000)];
    const report = await adviseIndexes(driver, workload, { installHypopg: true });
    expect(report.recommendations).toEqual([]);
    expect(report.rejected.some((rejected) => rejected.definition.includes('(account_id)') && rejected.reason.includes('write cost'))).toBe(true);
  });

  it('counts writes seen in pg_stat_user_tables over the window, not only the workload text', async () => {
    const start = await readWriteCounters(driver);
    await driver.exec('INSERT INTO events SELECT i, i % 20000, false, md5(i::text) FROM generate_series(200001, 300000) AS i');
    await driver.query('SELECT pg_stat_force_next_flush()');
    const report = await adviseIndexes(driver, [query(LOOKUP, 10, 50, [[42]])], { installHypopg: true, writeCountersAtStart: start });
    expect(report.recommendations).toEqual([]);
    await driver.exec('DELETE FROM events WHERE id > 200000');
    await driver.exec('VACUUM ANALYZE events');
  });

  it('keeps the size budget in estimated real bytes', async () => {
    const report = await adviseIndexes(driver, [query(LOOKUP, 1000, 5000, [[42]])], { installHypopg: true, budget: { maxBytes: 8192 } });
    expect(report.recommendations).toEqual([]);
    expect(report.rejected.some((rejected) => rejected.reason.includes('size budget'))).toBe(true);
  });

  it('applies a helpful index and drops one that did not help, with history and evidence', async () => {
    const helpful: IndexCandidate = { table: 'events', method: 'btree', keys: [columnKey('account_id')], include: [], where: null, origin: 'test' };
    const useless: IndexCandidate = { table: 'events', method: 'btree', keys: [columnKey('flag')], include: [], where: null, origin: 'test' };
    const flagCount = query('SELECT max(payload) FROM events WHERE flag = $1', 10, null, [[true]]);
    const lookup = query(LOOKUP, 10, null, [[42], [4242]]);
    const recommendation = (candidate: IndexCandidate, fingerprint: string) => ({
      name: candidateName(candidate), table: 'events', candidate, definition: createIndexStatement(candidate, candidateName(candidate), true),
      origin: 'test', estimatedBytes: 1, hypopgBytes: null, benefit: 1, writeCost: 0, queries: [fingerprint],
    });
    const report: AdviceReport = {
      evaluator: 'hypopg', confidence: 'high', weightUnit: 'ms', candidatesConsidered: 2,
      recommendations: [recommendation(helpful, lookup.fingerprint), recommendation(useless, flagCount.fingerprint)],
      rejected: [], queries: [], workloadWeight: 1, predictedWeight: 1, predictedGain: 0, statistics: [], skipped: [],
    };
    const applied = await applyRecommendations(driver, report, [lookup, flagCount], { repetitions: 5, lockTimeoutMs: 60_000 });
    expect(applied.applied.map((index) => [index.name, index.status]), JSON.stringify(applied.applied)).toEqual([
      ['qopt_events_account_id', 'kept'],
      ['qopt_events_flag', 'dropped'],
    ]);
    const remaining = await driver.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'events' AND indexname LIKE 'qopt_%'");
    expect(remaining.rows.map((row) => row.name)).toEqual(['qopt_events_account_id']);
    const history = await readHistory(driver);
    expect(history.map((entry) => `${entry.action} ${entry.indexName}`)).toEqual([
      'dropped qopt_events_flag', 'created qopt_events_flag', 'kept qopt_events_account_id', 'created qopt_events_account_id',
    ]);
    expect(history[0]!.evidence).toMatchObject({ reason: 'no measured query uses it in its plan', measuredGain: 0 });
    expect(Number(history[2]!.evidence.realBytes)).toBeGreaterThan(0);
  });

  it('drops the INVALID leftover of an interrupted qopt build and records it', async () => {
    await driver.exec('CREATE TABLE twins (k int); INSERT INTO twins VALUES (1), (1);');
    await expect(driver.exec('CREATE UNIQUE INDEX CONCURRENTLY qopt_twins_k ON twins (k)')).rejects.toThrow();
    expect(await cleanInvalidIndexes(driver, 60_000)).toEqual(['qopt_twins_k']);
    const left = await driver.query("SELECT 1 FROM pg_indexes WHERE indexname = 'qopt_twins_k'");
    expect(left.rowCount).toBe(0);
    expect((await readHistory(driver))[0]).toMatchObject({ action: 'cleaned', indexName: 'qopt_twins_k' });
  });

  it('writes the recommendations as a migration of concurrent builds under a lock timeout', async () => {
    const report = await adviseIndexes(driver, [query('SELECT id FROM events WHERE payload = $1', 1000, 5000, [['abc']])], { installHypopg: true });
    const sql = migrationSql(report, 3000);
    expect(sql).toContain("SET lock_timeout = '3000ms';");
    expect(sql).toMatch(/CREATE INDEX CONCURRENTLY IF NOT EXISTS qopt_events_payload\S* ON events/);
    expect(sql).toContain('-- DROP INDEX CONCURRENTLY IF EXISTS qopt_events_payload');
  });
});
