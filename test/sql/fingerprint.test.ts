import { describe, expect, it } from 'vitest';
import { analyzeSql } from '../../src/index.js';

// [left, right, same fingerprint?, why]
const PAIRS: Array<[string, string, boolean, string]> = [
  ['select * from t where a = 1', 'select * from t where a = 2', true, 'literals differ'],
  ['select * from t where a = 1', 'SELECT *\n  FROM t\n WHERE a = 1', true, 'whitespace and case differ'],
  ['select * from t where a = 1', 'select * from t where a = 1 -- trailing comment', true, 'a line comment'],
  ['select * from t where a = 1', 'select /* note */ * from t where a = 1', true, 'a block comment'],
  ['select * from t where a in (1,2,3)', 'select * from t where a in (1)', true, 'IN-lists of any length'],
  ['select * from t where a in (1,2,3)', 'select * from t where a = any($1)', true, 'IN-list and = ANY($1)'],
  ['select * from t where a = $1', 'select * from t where a = 5', true, 'a parameter and a literal'],
  ["select * from t where s = 'x'", "select * from t where s = 'yyy'", true, 'string literals'],
  ['select * from t limit 5 offset 10', 'select * from t limit 5', true, 'OFFSET presence is ignored (a fingerprint is not a cache key)'],
  ['select * from t limit 5', 'select * from t limit 50', true, 'LIMIT values'],
  ['SELECT a FROM T', 'select a from t', true, 'identifier case'],
  ['insert into t (a) values (1)', 'insert into t (a) values (2)', true, 'inserted values'],
  ['insert into t (a) values (1)', 'insert into t (a) values (1), (2)', true, 'number of VALUES rows'],
  ['update t set a = 1 where id = 2', 'update t set a = 3 where id = 4', true, 'updated values'],
  ['delete from t where id = 1', 'delete from t where id = 99', true, 'deleted key'],
  ['select * from t where a between 1 and 5', 'select * from t where a between 10 and 50', true, 'BETWEEN bounds'],
  ["select * from t where a like 'x%'", "select * from t where a like '%y'", true, 'LIKE patterns'],
  ['select * from t where a = 1.5', 'select * from t where a = 2', true, 'numeric and integer literals'],
  ['select * from t where a = -1', 'select * from t where a = 1', true, 'a negative literal'],
  ['with x as (select 1) select * from x', 'with x as (select 2) select * from x', true, 'literals inside a CTE'],
  ["select * from t where d = '2024-01-01'::date", "select * from t where d = '2025-06-01'::date", true, 'cast literals'],
  ['select * from t where a = true', 'select * from t where a = false', true, 'boolean literals'],
  ['select a from t', 'select b from t', false, 'selected column'],
  ['select a from t', 'select a from u', false, 'table'],
  ['select a from t', 'select a from s.t', false, 'schema qualifier (qopt folds it in; libpg-query alone ignores it)'],
  ['select a from s1.t', 'select a from s2.t', false, 'two schemas'],
  ['select a from t where a = 1', 'select a from t where a > 1', false, 'operator'],
  ['select a from t where a = 1', 'select a from t where b = 1', false, 'filtered column'],
  ['select a from t order by a', 'select a from t order by a desc', false, 'sort direction'],
  ['select * from a as b', 'select * from a', false, 'an alias (libpg-query 18 keeps it)'],
  ['select count(*) from t', 'select count(1) from t', false, 'count(*) vs count(1)'],
  ['update t set a = 1 where id = 2', 'update t set b = 1 where id = 2', false, 'updated column'],
  ['select * from t where a is null', 'select * from t where a is not null', false, 'IS NULL vs IS NOT NULL'],
  ['select * from t join u on t.id = u.id', 'select * from t left join u on t.id = u.id', false, 'join type'],
  ['select a from t union select a from u', 'select a from t union all select a from u', false, 'UNION vs UNION ALL'],
  ['select * from t where a = 1 and b = 2', 'select * from t where b = 2 and a = 1', true, 'conjunct order (libpg-query 18 sorts AND terms)'],
];

describe('fingerprint', () => {
  it('covers at least 30 pairs', () => {
    expect(PAIRS.length).toBeGreaterThanOrEqual(30);
  });

  for (const [left, right, same, why] of PAIRS) {
    it(`${same ? 'is equal' : 'differs'} when ${why}`, () => {
      const a = analyzeSql(left).fingerprint;
      const b = analyzeSql(right).fingerprint;
      if (same) expect(a).toBe(b);
      else expect(a).not.toBe(b);
    });
  }

  it('keeps LIMIT and OFFSET in the normalized text and every constant in the canonical text', () => {
    const withOffset = analyzeSql('select * from t limit 5 offset 10');
    const withoutOffset = analyzeSql('select * from t limit 5');
    expect(withOffset.normalized).toMatch(/limit \$\d+ offset \$\d+/);
    expect(withOffset.canonical).not.toBe(withoutOffset.canonical);
    expect(analyzeSql('select * from t where a = -1').canonical).not.toBe(analyzeSql('select * from t where a = 1').canonical);
    expect(analyzeSql("select * from t where s = 'X'").canonical).not.toBe(analyzeSql("select * from t where s = 'x'").canonical);
  });

  it('gives the same canonical text for statements that differ only in whitespace, keyword case and comments', () => {
    const a = analyzeSql('SELECT a FROM T WHERE a = 1');
    const b = analyzeSql('select a\n from t -- why\n where a = 1');
    expect(a.canonical).toBe(b.canonical);
    expect(a.constants).toEqual(['1']);
  });
});
