import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import { PgStatStatementsUnavailableError } from '../../src/monitor/errors.js';
import { pgStatStatementsStatus, readPgStatStatements, topQueries } from '../../src/monitor/pgStatStatements.js';
import { createTestSchema, DATABASE_URL } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

/** What the shared server really has, asked independently of the code under test. */
async function serverFacts(): Promise<{ preloaded: boolean; created: boolean }> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ preload: string; created: boolean }>(
      "SELECT current_setting('shared_preload_libraries') AS preload, EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS created",
    );
    return { preloaded: rows[0]!.preload.includes('pg_stat_statements'), created: rows[0]!.created };
  } finally {
    await client.end();
  }
}

describe('pg_stat_statements import', () => {
  let schema: TestSchema;
  let qo: Optimizer;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_monitor_pgss');
    qo = await createOptimizer({ database: { url: schema.url } });
    await qo.query('CREATE TABLE items (id int PRIMARY KEY, label text)');
    for (let id = 1; id <= 20; id += 1) await qo.query('SELECT label FROM items WHERE id = $1', [id]);
  });

  afterAll(async () => {
    await qo.close();
    await schema.drop();
  });

  it('tells whether the server can provide pg_stat_statements, and how to enable it when it cannot', async () => {
    const facts = await serverFacts();
    const status = await pgStatStatementsStatus(qo.driver);
    expect(status.available).toBe(facts.preloaded && facts.created);
    if (!status.available) {
      expect(status.howToEnable).toContain('shared_preload_libraries');
      await expect(readPgStatStatements(qo.driver)).rejects.toBeInstanceOf(PgStatStatementsUnavailableError);
    }
  });

  it("lists qopt's own percentiles by fingerprint, merged with the server's view when it has one", async () => {
    const facts = await serverFacts();
    const report = await topQueries(qo.driver, qo.recorder.snapshot(), (sql) => qo.analyze(sql));
    const lookup = report.rows.find((row) => row.fingerprint === qo.analyze('SELECT label FROM items WHERE id = $1').fingerprint);
    expect(lookup?.qopt?.calls).toBe(20);
    expect(lookup!.qopt!.p95Ms).toBeGreaterThan(0);
    if (facts.preloaded && facts.created) {
      expect(report.source).toBe('pg_stat_statements+qopt');
    } else {
      expect(report.source).toBe('qopt');
      expect(report.note).toMatch(/pg_stat_statements unavailable: .*shared_preload_libraries/);
      expect(lookup!.server).toBeNull();
    }
  });

  it('works without a database, with a note', async () => {
    const report = await topQueries(null, qo.recorder.snapshot(), (sql) => qo.analyze(sql));
    expect(report.source).toBe('qopt');
    expect(report.rows.length).toBeGreaterThan(0);
  });
});
