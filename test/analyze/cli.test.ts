import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/qopt.js');

async function qopt(...args: string[]): Promise<string> {
  const { stdout } = await run('node', [BIN, ...args], { env: { ...process.env, DATABASE_URL: '' } });
  return stdout;
}

describe('qopt analyze / qopt rewrite (built CLI)', () => {
  let schema: TestSchema;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_cli');
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    await client.query(`CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
      CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL);
      INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 300) i;
      INSERT INTO orders SELECT i, i % 200 + 1 FROM generate_series(1, 2000) i; ANALYZE`);
    await client.end();
  });

  afterAll(() => schema.drop());

  it('analyze --json keeps the static fields and adds findings, without a database', async () => {
    const output = JSON.parse(await qopt('analyze', 'SELECT id FROM users ORDER BY random() LIMIT 3', '--json')) as Record<string, unknown>;
    expect(output).toHaveProperty('fingerprint');
    expect(output).toHaveProperty('statements');
    expect((output.findings as Array<{ rule: string }>).map((finding) => finding.rule)).toContain('order-by-random');
  });

  it('analyze --explain prints findings, their fix, and the plan cost', async () => {
    const output = await qopt('analyze', "SELECT id FROM users WHERE email LIKE '%9'", '--explain', '--analyze', '--database', schema.url);
    expect(output).toMatch(/leading-wildcard-like/);
    expect(output).toMatch(/fix: /);
    expect(output).toMatch(/plan: +cost \d/);
  });

  it('rewrite --verify proves a NOT IN → NOT EXISTS rewrite or says why not, and refuses nothing silently', async () => {
    const output = JSON.parse(await qopt('rewrite', 'SELECT u.id FROM users u WHERE u.id NOT IN (SELECT o.user_id FROM orders o)', '--verify', '--max-time', '60000', '--json', '--database', schema.url)) as {
      verified: Array<{ rules: string[]; verdict: { proven: boolean; reasons: string[]; live: { equal: boolean } } }>;
    };
    const rewrite = output.verified.find((candidate) => candidate.rules.includes('not-in-to-not-exists'))!;
    // Either the rows were compared and are equal, or the planner rejected it first (and the rows were not run).
    const rejectedByCost = rewrite.verdict.reasons.some((reason) => reason.startsWith('not cheaper'));
    expect(rejectedByCost || rewrite.verdict.live.equal).toBe(true);
    expect(rewrite.verdict.proven).toBe(rewrite.verdict.reasons.length === 0);
  });
});
