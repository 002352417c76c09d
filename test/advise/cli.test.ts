import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openDriver } from '../../src/db/openDriver.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

async function run(args: string[]): Promise<{ output: string; exitCode: number }> {
  const chunks: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  process.exitCode = 0;
  try {
    await main(['node', 'qopt', ...args]);
  } finally {
    write.mockRestore();
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { output: chunks.join(''), exitCode };
}

describe('qopt advise / health / views on real PostgreSQL', () => {
  let schema: TestSchema;
  const workloadFile = join(tmpdir(), `qopt-advise-${process.pid}.sql`);

  beforeAll(async () => {
    schema = await createTestSchema('qopt_cli_advise');
    const driver = await openDriver(schema.url);
    await driver.exec(`
      CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, plan text NOT NULL);
      INSERT INTO accounts SELECT i, 'user' || i || '@example.com', (ARRAY['free', 'pro'])[i % 2 + 1] FROM generate_series(1, 50000) AS i;
      ANALYZE accounts;
      CREATE INDEX accounts_plan ON accounts (plan);
      CREATE INDEX accounts_plan_copy ON accounts (plan);`);
    await driver.close();
    writeFileSync(workloadFile, "SELECT id, plan FROM accounts WHERE email = 'user42@example.com';\nSELECT plan, count(*) FROM accounts GROUP BY plan;\n");
  });

  afterEach(() => {
    process.exitCode = 0;
  });

  afterAll(async () => {
    await schema?.drop();
  });

  it('prints the migration with --dry-run and changes nothing', async () => {
    const { output, exitCode } = await run(['advise', '--dry-run', '--workload', workloadFile, '--database', schema.url, '--install-hypopg']);
    expect(exitCode).toBe(0);
    expect(output).toMatch(/CREATE INDEX CONCURRENTLY IF NOT EXISTS qopt_accounts_email\S* ON accounts \(email\)/);
    const driver = await openDriver(schema.url);
    // Only this test's schema: other schemas on the shared server may hold indexes of their own.
    const indexes = await driver.query("SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'qopt_%'", [schema.name]);
    await driver.close();
    expect(indexes.rowCount).toBe(0);
  });

  it('exits 2 from qopt health when a finding reaches --fail-on, and 0 below it', async () => {
    const failing = await run(['health', '--database', schema.url, '--check', 'duplicate-indexes', '--fail-on', 'warning']);
    expect(failing.exitCode).toBe(2);
    expect(failing.output).toContain('accounts_plan_copy');
    const passing = await run(['health', '--database', schema.url, '--check', 'duplicate-indexes', '--fail-on', 'critical']);
    expect(passing.exitCode).toBe(0);
  });

  it('lists a materialized view for the parameter-free aggregate with qopt views', async () => {
    const { output } = await run(['views', '--workload', workloadFile, '--database', schema.url]);
    expect(output).toContain('parameter-free aggregate');
    expect(output).toMatch(/CREATE UNIQUE INDEX qopt_mv_agg_\w+_key ON qopt_mv_agg_\w+ \(plan\)/);
  });
});
