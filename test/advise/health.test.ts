import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sheetsWorkload } from '../../bench/workloads/sheets.js';
import { loadWorkload, quietProgress, waitForPublishedInserts } from '../../bench/workloads/workload.js';
import { healthFails, runHealthChecks } from '../../src/advise/health/runHealth.js';
import type { Driver } from '../../src/db/driver.js';
import { openDriver } from '../../src/db/openDriver.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

const FIXTURE = `
  CREATE TABLE t (id bigint PRIMARY KEY, a int, b int, c text, d int, f text);
  CREATE TABLE u (id bigint PRIMARY KEY, x int, y int);
  CREATE TABLE v (p int, q int);
  CREATE INDEX a_t_abc ON t (a, b, c);
  CREATE UNIQUE INDEX a_t_d ON t (d);
  CREATE INDEX a_t_lower_f ON t (lower(f));
  CREATE INDEX a_t_b_positive ON t (b) WHERE d > 0;
  CREATE INDEX a_t_c ON t (c);
  CREATE INDEX a_u_x_ydesc ON u (x, y DESC);
  CREATE INDEX a_v_pq ON v (p, q);
  -- ten redundant indexes
  CREATE INDEX z_r01_t_a ON t (a);
  CREATE INDEX z_r02_t_ab ON t (a, b);
  CREATE INDEX z_r03_t_abc ON t (a, b, c);
  CREATE INDEX z_r04_t_d ON t (d);
  CREATE INDEX z_r05_t_lower_f ON t (lower(f));
  CREATE INDEX z_r06_t_b_positive ON t (b) WHERE d > 0;
  CREATE INDEX z_r07_u_x ON u (x);
  CREATE INDEX z_r08_u_x_ydesc ON u (x, y DESC);
  CREATE INDEX z_r09_u_id ON u (id);
  CREATE INDEX z_r10_t_a_inc_b ON t (a) INCLUDE (b);
  -- five look-alikes that are not redundant
  CREATE INDEX z_l01_t_c_pattern ON t (c text_pattern_ops);
  CREATE INDEX z_l02_t_b_negative ON t (b) WHERE d < 0;
  CREATE INDEX z_l03_t_f ON t (f);
  CREATE UNIQUE INDEX z_l04_v_p ON v (p);
  CREATE INDEX z_l05_u_xdesc ON u (x DESC);
`;

describe('health checks on real PostgreSQL', () => {
  let schema: TestSchema;
  let driver: Driver;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_health');
    driver = await openDriver(schema.url);
    await driver.exec(FIXTURE);
  });

  afterAll(async () => {
    await driver?.close();
    await schema?.drop();
  });

  it('finds all ten planted redundant indexes and keeps the five look-alikes', async () => {
    const report = await runHealthChecks(driver, { checks: ['duplicate-indexes'] });
    const flagged = report.findings.map((finding) => finding.object).sort();
    expect(flagged).toEqual([
      'z_r01_t_a', 'z_r02_t_ab', 'z_r03_t_abc', 'z_r04_t_d', 'z_r05_t_lower_f',
      'z_r06_t_b_positive', 'z_r07_u_x', 'z_r08_u_x_ydesc', 'z_r09_u_id', 'z_r10_t_a_inc_b',
    ]);
    for (const finding of report.findings) expect(finding.remediation).toBe(`DROP INDEX CONCURRENTLY IF EXISTS ${finding.object};`);
  });

  it('reports a foreign key without a leading index, and not one that has it', async () => {
    await driver.exec(`
      CREATE TABLE parent (id bigint PRIMARY KEY);
      CREATE TABLE child_bare (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent (id));
      CREATE TABLE child_indexed (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent (id));
      CREATE INDEX ON child_indexed (parent_id, id);`);
    const report = await runHealthChecks(driver, { checks: ['unindexed-foreign-keys'] });
    expect(report.findings.map((finding) => finding.object)).toEqual(['child_bare.child_bare_parent_id_fkey']);
    expect(report.findings[0]!.remediation).toBe('CREATE INDEX CONCURRENTLY ON child_bare (parent_id);');
  });

  it('reports the invalid leftover of a failed concurrent build as critical and fails a CI run at warning', async () => {
    await driver.exec('CREATE TABLE dup (k int); INSERT INTO dup VALUES (1), (1);');
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    await expect(client.query('CREATE UNIQUE INDEX CONCURRENTLY dup_k_unique ON dup (k)')).rejects.toThrow();
    await client.end();
    const report = await runHealthChecks(driver, { checks: ['invalid-indexes'] });
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ object: 'dup_k_unique', severity: 'critical' });
    expect(healthFails(report, 'warning')).toBe(true);
    await driver.exec('DROP INDEX dup_k_unique');
  });

  it('counts an integer column fed by a bigint sequence as exhausted near 2^31', async () => {
    await driver.exec(`CREATE TABLE counted (id integer PRIMARY KEY); CREATE SEQUENCE counted_seq AS bigint OWNED BY counted.id;
      ALTER TABLE counted ALTER COLUMN id SET DEFAULT nextval('counted_seq'); SELECT setval('counted_seq', 2000000000);`);
    const report = await runHealthChecks(driver, { checks: ['sequence-exhaustion'] });
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ severity: 'critical' });
    expect(report.findings[0]!.message).toContain('integer');
  });

  it('flags a table modified since its last ANALYZE and clears it after ANALYZE', async () => {
    await driver.exec('CREATE TABLE churn (id int); INSERT INTO churn SELECT generate_series(1, 5000); ANALYZE churn; INSERT INTO churn SELECT generate_series(1, 5000);');
    await driver.query('SELECT pg_stat_force_next_flush()');
    const stale = await runHealthChecks(driver, { checks: ['stale-statistics'] });
    expect(stale.findings.map((finding) => finding.object)).toContain('churn');
    await driver.exec('ANALYZE churn');
    await driver.query('SELECT pg_stat_force_next_flush()');
    const fresh = await runHealthChecks(driver, { checks: ['stale-statistics'] });
    expect(fresh.findings.map((finding) => finding.object)).not.toContain('churn');
  });

  it('reports no stale statistics on the tables of a workload qopt has just loaded and analyzed', async () => {
    const report = await loadWorkload(driver, sheetsWorkload, 0.05, quietProgress);
    expect(report.writeCountsPublished).toBe(true);
    // Whenever PostgreSQL publishes the load's counts, they must not count against the ANALYZE that followed it.
    expect(await waitForPublishedInserts(driver, new Map(sheetsWorkload.generators(report.rows).map((generator) => [generator.table, generator.rows])))).toBe(true);
    const stale = await runHealthChecks(driver, { checks: ['stale-statistics'] });
    expect(stale.findings.filter((finding) => sheetsWorkload.tables.includes(finding.object))).toEqual([]);
    const cells = await driver.query<{ live: string }>("SELECT n_live_tup::text AS live FROM pg_stat_user_tables WHERE relid = 'cells'::regclass");
    expect(cells.rows).toEqual([{ live: String(report.rows.cells) }]);
    await driver.exec(`DROP TABLE ${[...sheetsWorkload.tables].reverse().join(', ')} CASCADE`);
  });

  it('judges a materialized view that was never analyzed as a warning, not critical', async () => {
    await driver.exec('CREATE MATERIALIZED VIEW totals AS SELECT g AS id, g % 7 AS bucket FROM generate_series(1, 5000) g');
    await driver.query('SELECT pg_stat_force_next_flush()');
    await waitForPublishedInserts(driver, new Map([['totals', 5000]]));
    const report = await runHealthChecks(driver, { checks: ['stale-statistics'] });
    const finding = report.findings.find((entry) => entry.object === 'totals');
    expect(finding).toMatchObject({ severity: 'warning', message: 'materialized view totals has never been analyzed (5000 rows)', remediation: 'ANALYZE totals;' });
    await driver.exec('DROP MATERIALIZED VIEW totals');
  });

  it('runs every check, reporting those the database cannot answer as skipped rather than failing', async () => {
    const report = await runHealthChecks(driver);
    expect(report.skipped).toEqual([]);
    expect(report.schemas).toEqual([schema.name]);
  });
});
