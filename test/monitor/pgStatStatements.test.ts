import { randomBytes } from 'node:crypto';
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
      expect(status.howToEnable).toContain(facts.preloaded ? 'CREATE EXTENSION pg_stat_statements' : 'shared_preload_libraries');
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
      expect(report.note).toMatch(facts.preloaded ? /pg_stat_statements unavailable: .*CREATE EXTENSION was not run/ : /pg_stat_statements unavailable: .*shared_preload_libraries/);
      expect(lookup!.server).toBeNull();
    }
  });

  it('merges the server view by fingerprint once the extension exists (own database; .ci/run preloads the library)', async () => {
    const facts = await serverFacts();
    if (!facts.preloaded) {
      // Without the library preloaded the server has nothing to merge: the two tests above cover the note.
      expect((await pgStatStatementsStatus(qo.driver)).available).toBe(false);
      return;
    }
    const name = `qopt_pgss_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(DATABASE_URL);
    url.pathname = `/${name}`;
    const own = await createOptimizer({ database: { url: url.toString() }, cache: { enabled: false } });
    try {
      const before = await pgStatStatementsStatus(own.driver);
      expect(before).toMatchObject({ available: false, reason: expect.stringContaining('CREATE EXTENSION was not run') });
      await own.query('CREATE TABLE items (id int PRIMARY KEY, label text)');
      await own.query("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g");
      // --install creates the extension in this database only (never a server setting).
      const installed = await topQueries(own.driver, [], (sql) => own.analyze(sql), { install: true });
      expect(installed.note).toBe('created the pg_stat_statements extension in this database');
      for (let id = 1; id <= 25; id += 1) await own.query('SELECT label FROM items WHERE id = $1', [id]);
      const report = await topQueries(own.driver, own.recorder.snapshot(), (sql) => own.analyze(sql), { limit: 50 });
      expect(report.source).toBe('pg_stat_statements+qopt');
      const fingerprint = own.analyze('SELECT label FROM items WHERE id = $1').fingerprint;
      const row = report.rows.find((candidate) => candidate.fingerprint === fingerprint);
      // The server's own text of the statement (normalized by pg_stat_statements), its counters, and qopt's percentiles on one row.
      expect(row?.query).toMatch(/SELECT label FROM items WHERE id = \$1/i);
      expect(row?.server?.calls).toBe(25);
      expect(row?.server?.rows).toBe(25);
      expect(row?.server?.totalMs).toBeGreaterThan(0);
      expect(row?.qopt?.calls).toBe(25);
      expect(row!.qopt!.p99Ms).toBeGreaterThanOrEqual(row!.qopt!.p50Ms);
      // Only this database's statements: the shared test database's lookups never show up here.
      expect(report.rows.every((candidate) => !/qopt_monitor_pgss/.test(candidate.query))).toBe(true);
    } finally {
      await own.close();
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('works without a database, with a note', async () => {
    const report = await topQueries(null, qo.recorder.snapshot(), (sql) => qo.analyze(sql));
    expect(report.source).toBe('qopt');
    expect(report.rows.length).toBeGreaterThan(0);
  });
});
