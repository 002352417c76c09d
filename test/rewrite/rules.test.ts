import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidateName, createIndexStatement, indexBody } from '../../src/advise/indexCandidate.js';
import { loadCatalog } from '../../src/analyze/catalog.js';
import type { Catalog } from '../../src/analyze/catalog.js';
import type { Driver } from '../../src/db/driver.js';
import { openDriver } from '../../src/db/openDriver.js';
import type { PgDriver } from '../../src/db/pgDriver.js';
import { PolicyDriver } from '../../src/server/policyDriver.js';
import { rewriteStatement } from '../../src/rewrite/rewriter.js';
import type { RewriteCandidate } from '../../src/rewrite/rewriter.js';
import { rewriteRules } from '../../src/rewrite/rules/index.js';
import { verifyRewrite } from '../../src/rewrite/verify.js';
import { analyzeSql } from '../../src/sql/analyze.js';
import { createTestSchema, withClient } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

// Live data with NULLs, duplicate values and ties in the version order (two versions with the same updated_at).
const SCHEMA = `
  CREATE TABLE versions (id bigint PRIMARY KEY, item_id bigint NOT NULL, grp int NOT NULL, v text, updated_at timestamptz NOT NULL);
  INSERT INTO versions SELECT i, (i - 1) / 6 + 1, (i - 1) % 2 + 1, CASE WHEN i % 5 = 0 THEN NULL ELSE 'v' || (i % 4) END,
    timestamptz '2024-01-01' + ((i % 3) / 2) * interval '1 day' FROM generate_series(1, 180) AS i;
  CREATE TABLE versions_nopk (item_id bigint NOT NULL, grp int NOT NULL, v text, updated_at timestamptz NOT NULL);
  INSERT INTO versions_nopk SELECT item_id, grp, v, updated_at FROM versions;
  CREATE TABLE versions_nullable_key (id bigint PRIMARY KEY, item_id bigint, grp int NOT NULL, v text, updated_at timestamptz NOT NULL);
  INSERT INTO versions_nullable_key SELECT id, CASE WHEN id % 7 = 0 THEN NULL ELSE item_id END, grp, v, updated_at FROM versions;
  CREATE TABLE items (id bigint PRIMARY KEY, name text);
  INSERT INTO items SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE 'item ' || (i % 3) END FROM generate_series(1, 35) AS i;
  CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name text);
  INSERT INTO users SELECT i, 'u' || i || '@x', CASE WHEN i % 3 = 0 THEN NULL ELSE 'n' || (i % 2) END FROM generate_series(1, 40) AS i;
  CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL, coupon_user_id bigint, total numeric NOT NULL);
  INSERT INTO orders SELECT i, i % 25 + 1, CASE WHEN i % 4 = 0 THEN NULL ELSE i % 10 END, (i % 5) * 10 FROM generate_series(1, 120) AS i;
  ANALYZE;`;

const LATEST = `SELECT id, item_id, grp, v FROM (
  SELECT x.*, row_number() OVER (PARTITION BY x.item_id, x.grp ORDER BY x.updated_at DESC) AS rn FROM versions x WHERE x.grp = $1
) ranked WHERE rn = 1`;

const FILTERS = `WITH latest AS (SELECT id, item_id, grp, v FROM (
  SELECT x.*, row_number() OVER (PARTITION BY x.item_id, x.grp ORDER BY x.updated_at DESC) AS rn FROM versions x
) ranked WHERE rn = 1)
SELECT i.id, i.name FROM items i
JOIN latest f0 ON f0.item_id = i.id AND f0.grp = 1 AND f0.v = $1
JOIN latest f1 ON f1.item_id = i.id AND f1.grp = 2 AND f1.v IS NOT NULL
ORDER BY i.id`;

interface PositiveCase {
  rule: string;
  sql: string;
  params: unknown[];
}

const positives: PositiveCase[] = [
  { rule: 'window-to-distinct-on', sql: LATEST, params: [1] },
  { rule: 'window-to-lateral', sql: LATEST, params: [2] },
  { rule: 'self-join-to-exists', sql: FILTERS, params: ['v1'] },
  { rule: 'inline-filtered-cte', sql: FILTERS, params: ['v2'] },
  { rule: 'not-in-to-not-exists', sql: 'SELECT u.id, u.name FROM users u WHERE u.id NOT IN (SELECT o.user_id FROM orders o WHERE o.total > $1)', params: [20] },
  { rule: 'count-to-exists', sql: 'SELECT u.id FROM users u WHERE (SELECT count(*) FROM orders o WHERE o.user_id = u.id AND o.total >= $1) > 0', params: [30] },
  { rule: 'count-to-exists', sql: 'SELECT u.id FROM users u WHERE (SELECT count(*) FROM orders o WHERE o.user_id = u.id) = 0', params: [] },
  { rule: 'scalar-subquery-to-join', sql: 'SELECT o.id, o.total, (SELECT u.name FROM users u WHERE u.id = o.coupon_user_id) AS coupon_name FROM orders o WHERE o.total > $1', params: [0] },
  { rule: 'in-list-to-any', sql: 'SELECT o.id FROM orders o WHERE o.user_id IN (1, 2, 3, 3, 5)', params: [] },
];

interface RefusalCase {
  rule: string;
  sql: string;
  reason: RegExp;
}

const refusals: RefusalCase[] = [
  { rule: 'window-to-distinct-on', sql: LATEST.replace('versions x', 'versions_nopk x').replace('SELECT id, ', 'SELECT '), reason: /no unique tie-breaker/ },
  { rule: 'window-to-distinct-on', sql: LATEST.replace('row_number()', 'rank()'), reason: /keeps every tied row/ },
  { rule: 'window-to-lateral', sql: LATEST.replace('versions x', 'versions_nullable_key x'), reason: /nullable/ },
  { rule: 'self-join-to-exists', sql: 'SELECT u.id FROM users u JOIN orders a ON a.user_id = u.id AND a.total > 10 JOIN orders b ON b.user_id = u.id AND b.total < 30', reason: /at most one row/ },
  { rule: 'not-in-to-not-exists', sql: 'SELECT u.id FROM users u WHERE u.id NOT IN (SELECT o.coupon_user_id FROM orders o)', reason: /nullable/ },
  { rule: 'inline-filtered-cte', sql: 'WITH x AS (SELECT id, random() AS r FROM orders) SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM x WHERE x.id = u.id AND x.r < 0.5)', reason: /random\(\)/ },
  { rule: 'count-to-exists', sql: 'SELECT u.id FROM users u WHERE (SELECT count(DISTINCT o.total) FROM orders o WHERE o.user_id = u.id) > 0', reason: /plain count/ },
  { rule: 'scalar-subquery-to-join', sql: 'SELECT u.id, (SELECT o.total FROM orders o WHERE o.user_id = u.id) AS total FROM users u', reason: /not a unique key/ },
  { rule: 'scalar-subquery-to-join', sql: 'SELECT o.id, (SELECT count(*) FROM users u WHERE u.id = o.user_id) AS n FROM orders o', reason: /aggregates/ },
  { rule: 'in-list-to-any', sql: 'SELECT o.id FROM orders o WHERE o.user_id IN (1, 2, NULL)', reason: /NULL/ },
  { rule: 'offset-to-keyset', sql: 'SELECT o.id FROM orders o ORDER BY o.total * 2 LIMIT 10 OFFSET 20', reason: /plain columns/ },
];

describe('rewrite rules on the live catalog', () => {
  let schema: TestSchema;
  let driver: Driver;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_rewrite');
    driver = await openDriver(schema.url, { poolMax: 2 });
    await driver.exec(SCHEMA);
  });

  afterAll(async () => {
    await driver.close();
    await schema.drop();
  });

  async function catalogFor(sql: string): Promise<Catalog> {
    return loadCatalog(driver, analyzeSql(sql).readTables);
  }

  it('covers every rewrite rule with a positive and a refusal', () => {
    const ids = rewriteRules.map((rule) => rule.id);
    expect(new Set(positives.map((c) => c.rule).concat('offset-to-keyset'))).toEqual(new Set(ids));
    expect(new Set(refusals.map((c) => c.rule))).toEqual(new Set(ids));
  });

  it.each(positives)('$rule returns the same rows as the original on live and on generated NULL / duplicate / tie data', async ({ rule, sql, params }) => {
    const catalog = await catalogFor(sql);
    const plan = rewriteStatement(sql, params, catalog);
    const candidate = plan.candidates.find((c) => c.rules.includes(rule));
    expect(candidate, JSON.stringify(plan.refusals)).toBeDefined();
    // Equality is what is tested here, so the cost bound is lifted.
    const verdict = await verifyRewrite(driver, catalog, { sql, params }, candidate!, { maxCostRatio: Number.POSITIVE_INFINITY });
    expect(verdict.live, verdict.live.reason).toMatchObject({ equal: true });
    expect(verdict.edge, verdict.edge.reason).toMatchObject({ equal: true });
    expect(verdict.live.rows + verdict.edge.rows).toBeGreaterThan(0);
    expect(Object.values(verdict.edge.tables).every((rows) => rows > 0)).toBe(true);
  });

  it.each(refusals)('$rule is refused when its precondition fails: $sql', async ({ rule, sql, reason }) => {
    const plan = rewriteStatement(sql, [], await catalogFor(sql));
    expect(plan.candidates.filter((c) => c.rules.includes(rule))).toEqual([]);
    expect(plan.refusals.find((refusal) => refusal.rule === rule)?.reason).toMatch(reason);
  });

  it('breaks ties of the window order by the primary key and proves against the tie-broken original', async () => {
    const catalog = await catalogFor(LATEST);
    const candidate = rewriteStatement(LATEST, [1], catalog).candidates.find((c) => c.rules[0] === 'window-to-distinct-on')!;
    expect(candidate.sql).toMatch(/DISTINCT ON \(x\.item_id, x\.grp\)/);
    expect(candidate.sql).toMatch(/x\.updated_at DESC, x\.id DESC/);
    expect(candidate.referenceSql).toMatch(/ORDER BY x\.updated_at DESC, x\.id DESC/);
  });

  it('proposes the index that serves the latest-row rewrite: equality, partition, version order, tie-breaker, the rest INCLUDEd', async () => {
    const sql = LATEST.replace('x.grp = $1', 'x.v = $1');
    const plan = rewriteStatement(sql, ['v1'], await catalogFor(sql));
    for (const rule of ['window-to-distinct-on', 'window-to-lateral']) {
      const candidate = plan.candidates.find((c) => c.rules.includes(rule))!;
      expect(candidate.supportingIndexes?.map(indexBody)).toEqual(['ON versions (v, item_id, grp, updated_at DESC, id DESC)']);
    }
    const partitioned = rewriteStatement(LATEST, [1], await catalogFor(LATEST)).candidates[0]!;
    // grp is fixed by the filter and is a partition key: it leads once; v is read but not a key, so it is INCLUDEd.
    expect(partitioned.supportingIndexes?.map(indexBody)).toEqual(['ON versions (item_id, grp, updated_at DESC, id DESC) INCLUDE (v)']);
  });

  it('proposes no index once one with the same keys exists, in either scan direction, but does when a direction differs', async () => {
    const proposed = rewriteStatement(LATEST, [1], await catalogFor(LATEST)).candidates[0]!.supportingIndexes![0]!;
    const variants = [
      { ddl: createIndexStatement(proposed, candidateName(proposed), false), proposes: false },
      { ddl: 'CREATE INDEX versions_backward ON versions (item_id DESC, grp DESC, updated_at, id)', proposes: false },
      { ddl: 'CREATE INDEX versions_mixed ON versions (item_id, grp, updated_at, id DESC)', proposes: true },
    ];
    for (const { ddl, proposes } of variants) {
      await driver.exec(ddl);
      try {
        const candidate = rewriteStatement(LATEST, [1], await catalogFor(LATEST)).candidates[0]!;
        expect(candidate.supportingIndexes !== undefined, ddl).toBe(proposes);
      } finally {
        await driver.exec(`DROP INDEX ${/INDEX (\w+)/.exec(ddl)![1]!}`);
      }
    }
  });

  it('proves a latest-row rewrite on edge-case data with its proposed index built, and reports the proposal without applying it', async () => {
    const catalog = await catalogFor(LATEST);
    const candidate = rewriteStatement(LATEST, [1], catalog).candidates.find((c) => c.rules[0] === 'window-to-distinct-on')!;
    const verdict = await verifyRewrite(driver, catalog, { sql: LATEST, params: [1] }, candidate, { maxCostRatio: Number.POSITIVE_INFINITY });
    expect(verdict.proven).toBe(true);
    expect(verdict.edge, verdict.edge.reason).toMatchObject({ equal: true });
    expect(verdict.supportingIndexes?.statements).toEqual([`CREATE INDEX CONCURRENTLY ${candidateName(candidate.supportingIndexes![0]!)} ON versions (item_id, grp, updated_at DESC, id DESC) INCLUDE (v)`]);
    // Priced by HypoPG where it is installed; otherwise the verdict says why the cost is unknown.
    if (verdict.supportingIndexes?.after === null) expect(verdict.supportingIndexes.reason).toMatch(/HypoPG/);
    else expect(verdict.supportingIndexes?.costRatio).toBeGreaterThan(0);
    expect((await catalogFor(LATEST)).table('versions')?.indexes.map((index) => index.name)).toEqual(['versions_pkey']);
  });

  it('never proves a rewrite that only its proposed index would make cheaper', async () => {
    const catalog = await catalogFor(LATEST);
    const candidate = rewriteStatement(LATEST, [1], catalog).candidates.find((c) => c.rules[0] === 'window-to-distinct-on')!;
    const verdict = await verifyRewrite(driver, catalog, { sql: LATEST, params: [1] }, candidate, { maxCostRatio: 0 });
    expect(verdict.proven).toBe(false);
    expect(verdict.supportingIndexes?.provenWithIndexes).toBe(false);
  });

  it('suggests keyset pagination with the cursor it needs instead of applying it', async () => {
    const sql = 'SELECT o.id, o.total FROM orders o ORDER BY o.total, o.id LIMIT 10 OFFSET 20';
    const plan = rewriteStatement(sql, [], await catalogFor(sql));
    expect(plan.candidates).toEqual([]);
    const suggestion = plan.suggestions.find((s) => s.rule === 'offset-to-keyset')!;
    expect(suggestion.sql).toMatch(/\(o\.total, o\.id\) > \(\$1, \$2\)/);
    expect(suggestion.sql).not.toMatch(/OFFSET/);
    expect(suggestion.notes.join(' ')).toMatch(/cursor/);
  });

  it('catches a result-changing rewrite: NOT EXISTS for NOT IN over a nullable column differs on the data', async () => {
    const sql = 'SELECT u.id FROM users u WHERE u.id NOT IN (SELECT o.coupon_user_id FROM orders o)';
    const wrong: RewriteCandidate = {
      rules: ['hand-made'],
      sql: 'SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.coupon_user_id = u.id)',
      params: [],
      referenceSql: sql,
      notes: [],
    };
    const verdict = await verifyRewrite(driver, await catalogFor(sql), { sql, params: [] }, wrong, { maxCostRatio: Number.POSITIVE_INFINITY });
    expect(verdict.proven).toBe(false);
    expect(verdict.reasons.join(' ')).toMatch(/different rows/);
  });

  it('catches a rewrite that silently drops the rows holding NULLs', async () => {
    const sql = 'SELECT DISTINCT ON (x.item_id) x.item_id, x.id FROM versions x WHERE x.id % 3 = 0 ORDER BY x.item_id, x.id DESC';
    const wrong: RewriteCandidate = { rules: ['hand-made'], sql: 'SELECT x.item_id, max(x.id) AS id FROM versions x WHERE x.id % 3 = 0 AND x.v IS NOT NULL GROUP BY x.item_id', params: [], referenceSql: sql, notes: [] };
    const verdict = await verifyRewrite(driver, await catalogFor(sql), { sql, params: [] }, wrong, { maxCostRatio: Number.POSITIVE_INFINITY });
    expect(verdict.proven).toBe(false);
  });

  it('proves a rewrite on edge-case data as a role without CREATE (temporary tables only need TEMP)', async () => {
    const role = `qopt_nocreate_${schema.name.slice(-8)}`;
    await withClient(async (client) => {
      await client.query(`CREATE ROLE ${role} NOLOGIN`);
      await client.query(`GRANT USAGE ON SCHEMA ${schema.name} TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA ${schema.name} TO ${role}`);
    });
    try {
      const privileges = await driver.query<{ create: boolean; temp: boolean }>(
        `SELECT has_database_privilege($1, current_database(), 'CREATE') AS create, has_database_privilege($1, current_database(), 'TEMP') AS temp`,
        [role],
      );
      expect(privileges.rows[0]).toEqual({ create: false, temp: true });
      const restricted = new PolicyDriver(driver as PgDriver, { role, statementTimeoutMs: 10_000, maxRows: 10_000 });
      const sql = positives[0]!.sql;
      const catalog = await catalogFor(sql);
      const candidate = rewriteStatement(sql, [1], catalog).candidates[0]!;
      const verdict = await verifyRewrite(restricted, catalog, { sql, params: [1] }, candidate, { maxCostRatio: Number.POSITIVE_INFINITY });
      expect(verdict.edge, verdict.edge.reason).toMatchObject({ equal: true });
      expect(Object.values(verdict.edge.tables).every((rows) => rows > 0)).toBe(true);
    } finally {
      await withClient(async (client) => {
        await client.query(`DROP OWNED BY ${role}`);
        await client.query(`DROP ROLE ${role}`);
      });
    }
  });
});
