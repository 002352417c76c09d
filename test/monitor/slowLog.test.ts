import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import { complexityScore } from '../../src/monitor/complexity.js';
import { analyzeSql } from '../../src/sql/analyze.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

describe('slow-query log', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_monitor_slow');
    qo = await createOptimizer({ database: { url: schema.url }, monitor: { slowQueryThresholdMs: 30 } });
    await qo.query('CREATE TABLE people (id int PRIMARY KEY, email text, ssn text)');
    await qo.query("INSERT INTO people SELECT i, 'p' || i || '@example.com', lpad(i::text, 9, '0') FROM generate_series(1, 100) i");
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it('logs executions over the threshold with parameters redacted, and samples one EXPLAIN per fingerprint', async () => {
    await qo.query('SELECT id FROM people WHERE email = $1', ['p1@example.com']);
    const slowSql = 'SELECT email, pg_sleep(0.05) FROM people WHERE ssn = $1 AND id > $2';
    await qo.query(slowSql, ['000000042', 1]);
    await qo.query(slowSql, ['000000043', 1]);
    await qo.monitor.slowLog.settle();
    // Set-up statements may also cross the low threshold on a busy machine: look at the sleeping statement.
    const fingerprint = qo.analyze(slowSql).fingerprint;
    const entries = qo.monitor.slowLog.list().filter((entry) => entry.fingerprint === fingerprint);
    expect(entries).toHaveLength(2);
    const [newest, oldest] = entries;
    expect(newest!.params).toEqual(['<redacted:string>', '<redacted:number>']);
    expect(JSON.stringify(entries)).not.toContain('000000042');
    expect(newest!.durationMs).toBeGreaterThan(30);
    expect(newest!.rows).toBe(1);
    expect(oldest!.explain?.nodeType).toBeDefined();
    expect(oldest!.explain!.totalCost).toBeGreaterThan(0);
    // Only the first slow execution of a fingerprint pays for a plan.
    expect(newest!.explain).toBeNull();
  });

  it('attaches a complexity score from the parse tree, and from the plan once the fingerprint was explained', async () => {
    const slowSql = 'SELECT p.email, q.id, pg_sleep(0.04) FROM people p JOIN people q ON q.id = p.id + 1 WHERE p.id = $1 ORDER BY q.id';
    await qo.query(slowSql, [7]);
    const fingerprint = qo.analyze(slowSql).fingerprint;
    const first = qo.monitor.slowLog.list().find((entry) => entry.fingerprint === fingerprint)!;
    expect(first.complexity!.factors.map((factor) => factor.factor)).toEqual(expect.arrayContaining(['joins', 'sort keys']));
    await qo.monitor.slowLog.settle();
    expect(first.explain).not.toBeNull();
    expect(first.complexity!.fromPlan).toBe(true);
    expect(first.complexity!.factors.map((factor) => factor.factor)).toContain('largest estimated rows (log10)');
    // Later slow executions are not explained again but carry the plan-aware score.
    await qo.query(slowSql, [8]);
    const [later] = qo.monitor.slowLog.list().filter((entry) => entry.fingerprint === fingerprint);
    expect(later!.explain).toBeNull();
    expect(later!.complexity).toEqual(first.complexity);
  });

  it('keeps the values when parameter logging is turned on', async () => {
    const verbose = await createOptimizer({ database: { url: schema.url }, monitor: { slowQueryThresholdMs: 30, logParameters: true } });
    try {
      await verbose.query('SELECT pg_sleep(0.04), $1::text AS tag', ['visible']);
      const entry = verbose.monitor.slowLog.list().find((candidate) => candidate.normalized.includes('pg_sleep'));
      expect(entry!.params).toEqual(['visible']);
    } finally {
      await verbose.close();
    }
  });
});

describe('complexity score', () => {
  it('ranks a point lookup low and a multi-join window query with a CTE high, and adds plan factors', () => {
    const simple = complexityScore(analyzeSql('SELECT * FROM people WHERE id = $1 LIMIT 1'));
    const complex = complexityScore(
      analyzeSql(`WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval '1 day')
        SELECT c.name, row_number() OVER (PARTITION BY c.region ORDER BY sum(r.total) DESC)
        FROM recent r JOIN customers c ON c.id = r.customer_id JOIN regions g ON g.id = c.region
        WHERE r.total > (SELECT avg(total) FROM orders) GROUP BY c.name, c.region ORDER BY 2`),
    );
    expect(simple.level).toBe('low');
    expect(complex.level).toBe('high');
    expect(complex.factors.map((factor) => factor.factor)).toEqual(expect.arrayContaining(['joins', 'CTEs', 'window functions', 'subqueries']));
    const withPlan = complexityScore(analyzeSql('SELECT * FROM people'), { 'Node Type': 'Seq Scan', 'Total Cost': 1000, 'Startup Cost': 0, 'Plan Rows': 50_000, 'Plan Width': 40 });
    expect(withPlan.factors.map((factor) => factor.factor)).toContain('sequential scans over 10k rows');
    expect(withPlan.score).toBeGreaterThan(complexityScore(analyzeSql('SELECT * FROM people')).score);
  });
});
