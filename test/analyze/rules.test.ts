import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/analyze/catalog.js';
import { findAntiPatterns, findAntiPatternsInText } from '../../src/analyze/findings.js';
import { analyzerRules } from '../../src/analyze/rules/index.js';
import { analyzeSql } from '../../src/sql/analyze.js';
import { sheetsWorkload } from '../../bench/workloads/sheets.js';
import { fixtureCatalog } from './catalogFixture.js';

interface RuleCases {
  positives: string[];
  negatives: string[];
  catalog?: Catalog;
}

const LATEST = sheetsWorkload.queries.find((query) => query.name === 'latest_cells')!.sql;
const FILTERS = sheetsWorkload.queries.find((query) => query.name === 'filter_rows_self_join')!.sql;

const cases: Record<string, RuleCases> = {
  'select-star': {
    positives: ['SELECT * FROM cells WHERE id = 1', 'SELECT c.* FROM cells c JOIN tags t ON t.id = c.id'],
    negatives: ['SELECT id, answer FROM cells', 'SELECT count(*) FROM cells', 'SELECT * FROM tags', 'SELECT t.* FROM tags t JOIN cells c ON c.id = t.id'],
  },
  'large-offset': {
    positives: ['SELECT id FROM cells ORDER BY id LIMIT 20 OFFSET 50000', 'SELECT id FROM cells ORDER BY id LIMIT 20 OFFSET $1'],
    negatives: ['SELECT id FROM cells ORDER BY id LIMIT 20', 'SELECT id FROM cells ORDER BY id LIMIT 20 OFFSET 40', 'SELECT id FROM tags'],
  },
  'unbounded-result': {
    positives: ['SELECT id, answer FROM cells WHERE sheet_id = 1', 'SELECT email FROM users'],
    negatives: ['SELECT id FROM cells LIMIT 10', 'SELECT count(*) FROM cells', 'SELECT name FROM tags', 'SELECT sheet_id, count(*) FROM cells GROUP BY sheet_id'],
  },
  'literal-in-list': {
    positives: ['SELECT id FROM users WHERE id IN (1, 2, 3, 4)', "SELECT id FROM users WHERE email IN ('a', 'b', 'c')"],
    negatives: ['SELECT id FROM users WHERE id IN (1, 2)', 'SELECT id FROM users WHERE id = ANY($1)', 'SELECT id FROM users WHERE id IN (SELECT user_id FROM orders)'],
  },
  'not-in-nullable': {
    positives: ['SELECT id FROM users WHERE id NOT IN (SELECT coupon_user_id FROM orders)', 'SELECT id FROM users u WHERE u.id NOT IN (SELECT o.coupon_user_id FROM orders o)'],
    negatives: ['SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM orders)', 'SELECT id FROM users WHERE id IN (SELECT coupon_user_id FROM orders)', 'SELECT id FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.coupon_user_id = u.id)'],
  },
  'function-on-indexed-column': {
    positives: ["SELECT id FROM users WHERE lower(email) = 'a@b.c'", "SELECT id FROM users WHERE created_at::date = '2024-01-01'"],
    negatives: ["SELECT id FROM users WHERE email = 'a@b.c'", "SELECT id FROM users WHERE lower(name) = 'x'", "SELECT lower(email) FROM users WHERE id = 1"],
  },
  'leading-wildcard-like': {
    positives: ["SELECT id FROM users WHERE email LIKE '%@example.com'", "SELECT id FROM users WHERE name ILIKE '%ann%'"],
    negatives: ["SELECT id FROM users WHERE email LIKE 'ann%'", "SELECT id FROM users WHERE email = '%x'", 'SELECT id FROM users WHERE email LIKE $1'],
  },
  'or-across-columns': {
    positives: ["SELECT id FROM users WHERE email = 'a' OR name = 'b'", 'SELECT id FROM orders WHERE user_id = 1 OR coupon_user_id = 1'],
    negatives: ['SELECT id FROM users WHERE id = 1 OR id = 2', "SELECT id FROM users WHERE email = 'a' AND name = 'b'", 'SELECT id FROM users WHERE id IN (1, 2)'],
  },
  'correlated-subquery': {
    positives: ['SELECT o.id, (SELECT u.email FROM users u WHERE u.id = o.user_id) AS email FROM orders o'],
    negatives: ['SELECT o.id, (SELECT max(id) FROM users) AS top FROM orders o', 'SELECT o.id FROM orders o WHERE o.user_id IN (SELECT id FROM users)', 'SELECT o.id, u.email FROM orders o JOIN users u ON u.id = o.user_id'],
  },
  'count-as-existence': {
    positives: ['SELECT id FROM users u WHERE (SELECT count(*) FROM orders o WHERE o.user_id = u.id) > 0', 'SELECT id FROM users u WHERE (SELECT count(*) FROM orders o WHERE o.user_id = u.id) = 0'],
    negatives: ['SELECT id FROM users u WHERE (SELECT count(*) FROM orders o WHERE o.user_id = u.id) > 5', 'SELECT count(*) FROM orders', 'SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)'],
  },
  'latest-row-window': {
    positives: [LATEST, FILTERS],
    negatives: [
      'SELECT id, row_number() OVER (ORDER BY id) FROM cells',
      'SELECT * FROM (SELECT id, row_number() OVER (PARTITION BY row_id ORDER BY updated_at) AS rn FROM cells) x WHERE rn <= 3',
      'SELECT DISTINCT ON (row_id) id FROM cells ORDER BY row_id, updated_at DESC',
    ],
  },
  'self-join-per-filter': {
    positives: [FILTERS, 'SELECT u.id FROM users u JOIN orders a ON a.user_id = u.id AND a.total > 10 JOIN orders b ON b.user_id = u.id AND b.total < 5'],
    negatives: ['SELECT u.id FROM users u JOIN orders o ON o.user_id = u.id', 'SELECT o.id FROM orders o JOIN users a ON a.id = o.user_id JOIN users b ON b.id = o.coupon_user_id', 'SELECT u.id FROM users u JOIN orders a ON a.user_id = u.id JOIN tags t ON t.id = u.id'],
  },
  'implicit-cross-join': {
    positives: ['SELECT u.id FROM users u, orders o', 'SELECT u.id FROM users u, orders o, tags t WHERE o.user_id = u.id'],
    negatives: ['SELECT u.id FROM users u, orders o WHERE o.user_id = u.id', 'SELECT u.id FROM users u JOIN orders o ON o.user_id = u.id', 'SELECT u.id FROM users u CROSS JOIN LATERAL (SELECT 1) x'],
  },
  'order-by-random': {
    positives: ['SELECT id FROM users ORDER BY random() LIMIT 5', 'SELECT id FROM (SELECT id FROM tags ORDER BY random()) x'],
    negatives: ['SELECT id FROM users ORDER BY id', 'SELECT random() FROM users LIMIT 1', 'SELECT id FROM users TABLESAMPLE SYSTEM (1) LIMIT 5'],
  },
};

function firedRules(sql: string, catalog: Catalog): string[] {
  return findAntiPatterns(analyzeSql(sql), catalog).map((finding) => finding.rule);
}

describe('analyzer rules', () => {
  it('has test cases for every registered rule, and at least 14 rules', () => {
    expect(analyzerRules.length).toBeGreaterThanOrEqual(14);
    expect(Object.keys(cases).sort()).toEqual(analyzerRules.map((rule) => rule.id).sort());
  });

  it('every rule carries an id, severity, one-line description, explanation and fix', () => {
    for (const rule of analyzerRules) {
      expect(rule.id).toMatch(/^[a-z-]+$/);
      expect(rule.description).not.toContain('\n');
      expect(rule.explanation.length).toBeGreaterThan(20);
      expect(rule.fix.length).toBeGreaterThan(10);
    }
  });

  for (const [id, { positives, negatives, catalog }] of Object.entries(cases)) {
    describe(id, () => {
      it.each(positives)('fires on %s', (sql) => {
        expect(firedRules(sql, catalog ?? fixtureCatalog)).toContain(id);
      });
      it.each(negatives)('stays silent on %s', (sql) => {
        expect(firedRules(sql, catalog ?? fixtureCatalog)).not.toContain(id);
      });
      it('has at least 3 negatives', () => expect(negatives.length).toBeGreaterThanOrEqual(3));
    });
  }

  it('without a database, catalog-dependent rules stay silent rather than guess', () => {
    const fired = firedRules("SELECT id FROM users WHERE lower(email) = 'x'", Catalog.empty());
    expect(fired).not.toContain('function-on-indexed-column');
    expect(fired).not.toContain('unbounded-result');
  });

  it('orders findings by severity, high first', () => {
    const findings = findAntiPatterns(analyzeSql(FILTERS), fixtureCatalog);
    expect(findings[0]!.severity).toBe('high');
    expect(findings.at(-1)!.severity).not.toBe('high');
  });

  it('finds the same anti-patterns from the bare parse tree as from the full analysis', () => {
    for (const sql of [LATEST, FILTERS, 'SELECT id FROM users ORDER BY random() LIMIT 5; SELECT * FROM cells']) {
      expect(findAntiPatternsInText(sql, fixtureCatalog)).toEqual(findAntiPatterns(analyzeSql(sql), fixtureCatalog));
    }
  });
});
