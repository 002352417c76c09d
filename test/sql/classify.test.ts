import { describe, expect, it } from 'vitest';
import { analyzeSql, SqlAnalyzer, SqlSyntaxError } from '../../src/index.js';

describe('statement kind', () => {
  const kinds: Array<[string, string]> = [
    ['select 1', 'read'],
    ['select * from t', 'read'],
    ['with x as (select 1) select * from x', 'read'],
    ['insert into t values (1)', 'write'],
    ['update t set a = 1', 'write'],
    ['delete from t', 'write'],
    ['with x as (insert into t values (1) returning *) select * from x', 'write'],
    ['with x as (select 1) insert into t select * from x', 'write'],
    ['merge into t using s on t.id = s.id when matched then delete', 'write'],
    ['truncate t', 'write'],
    ['copy t from stdin', 'write'],
    ['copy t to stdout', 'read'],
    ['select * into new_table from t', 'ddl'],
    ['create table t (id int)', 'ddl'],
    ['alter table t add column b int', 'ddl'],
    ['drop table t', 'ddl'],
    ['create index concurrently i on t (a)', 'ddl'],
    ['refresh materialized view mv', 'ddl'],
    ['begin', 'transaction'],
    ['commit', 'transaction'],
    ['rollback', 'transaction'],
    ['savepoint s1', 'transaction'],
    ['set search_path = app', 'other'],
    ['vacuum t', 'other'],
    ['explain select * from t', 'other'],
    ['explain analyze delete from t', 'write'],
    ["do $$ begin perform 1; end $$", 'other'],
    ['call refresh_all()', 'other'],
  ];
  for (const [sql, kind] of kinds) {
    it(`classifies ${JSON.stringify(sql)} as ${kind}`, () => {
      expect(analyzeSql(sql).kind).toBe(kind);
    });
  }

  it('marks DO, CALL and EXECUTE as opaque: they may write tables they do not name', () => {
    for (const sql of ['do $$ begin delete from t; end $$', 'call p()', 'execute stmt(1)']) {
      expect(analyzeSql(sql).statements[0]!.opaque).toBe(true);
    }
    expect(analyzeSql('select 1').statements[0]!.opaque).toBe(false);
  });

  it('lets the strongest statement decide the kind of a multi-statement text', () => {
    const analysis = analyzeSql('select * from a; update b set x = 1; select 2');
    expect(analysis.statements).toHaveLength(3);
    expect(analysis.kind).toBe('write');
    expect(analysis.readTables).toEqual(['a']);
    expect(analysis.writeTables).toEqual(['b']);
    expect(analysis.cacheable).toBe(false);
    expect(analysis.uncacheableReason).toMatch(/multi-statement/);
  });
});

describe('cacheability', () => {
  it('allows a plain read', () => {
    const analysis = analyzeSql('select id, lower(email) from users where id = $1');
    expect(analysis.cacheable).toBe(true);
    expect(analysis.uncacheableReason).toBeNull();
  });

  it('refuses SELECT … FOR UPDATE and FOR SHARE', () => {
    for (const sql of ['select * from t where id = 1 for update', 'select * from t for share skip locked']) {
      const analysis = analyzeSql(sql);
      expect(analysis.kind).toBe('read');
      expect(analysis.cacheable).toBe(false);
      expect(analysis.uncacheableReason).toMatch(/FOR UPDATE/);
    }
  });

  for (const call of ['now()', 'random()', "nextval('s')", 'clock_timestamp()', 'gen_random_uuid()', 'statement_timestamp()', 'pg_backend_pid()']) {
    it(`refuses a read that calls ${call}`, () => {
      const analysis = analyzeSql(`select ${call}, a from t`);
      expect(analysis.cacheable).toBe(false);
      expect(analysis.uncacheableReason).toMatch(/volatile|clock/);
    });
  }

  for (const keyword of ['current_timestamp', 'current_date', 'localtimestamp']) {
    it(`refuses a read that uses ${keyword}`, () => {
      const analysis = analyzeSql(`select * from t where created_at < ${keyword}`);
      expect(analysis.cacheable).toBe(false);
      expect(analysis.uncacheableReason).toMatch(/clock/);
    });
  }

  it('refuses a volatile call hidden in a subquery or a CTE', () => {
    expect(analyzeSql('select * from t where a in (select b from u where c < now())').cacheable).toBe(false);
    expect(analyzeSql('with x as (select random() as r) select * from x').cacheable).toBe(false);
  });

  it('refuses a function whose volatility it does not know', () => {
    const analysis = analyzeSql('select my_schema.compute_score(id) from t');
    expect(analysis.cacheable).toBe(false);
    expect(analysis.uncacheableReason).toMatch(/not known/);
  });

  it('never caches writes, DDL or transaction control', () => {
    for (const sql of ['update t set a = 1', 'create table x (a int)', 'begin']) expect(analyzeSql(sql).cacheable).toBe(false);
  });
});

describe('syntax errors', () => {
  it('reports line, column and a caret excerpt', () => {
    const error = capture(() => analyzeSql('select a\nfrom t\nwher id = 1'));
    expect(error).toBeInstanceOf(SqlSyntaxError);
    expect(error.line).toBe(3);
    expect(error.column).toBe(6);
    expect(error.position).toBe(21);
    expect(error.excerpt).toBe('2 | from t\n3 | wher id = 1\n  |      ^');
    expect(error.message).toContain('syntax error at or near "id" at line 3, column 6');
  });

  it('points at the end of an unfinished statement', () => {
    const error = capture(() => analyzeSql('select * from'));
    expect(error.line).toBe(1);
    expect(error.column).toBe(14);
    expect(error.message).toMatch(/end of input/);
  });

  it('points at the first character when the first word is wrong', () => {
    const error = capture(() => analyzeSql('selec 1'));
    expect(error.position).toBe(0);
    expect(error.column).toBe(1);
    expect(error.excerpt.split('\n').pop()).toBe('  | ^');
  });

  it('finds an error in the second statement of a multi-statement text', () => {
    const error = capture(() => analyzeSql('select 1;\nselect from where;'));
    expect(error.line).toBe(2);
  });
});

describe('memoization', () => {
  it('returns the same frozen analysis for a repeated text without parsing again', () => {
    const analyzer = new SqlAnalyzer(10);
    const first = analyzer.analyze('select * from t where id = $1');
    const second = analyzer.analyze('select * from t where id = $1');
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.statements[0]!.predicates)).toBe(true);
    expect(analyzer.size).toBe(1);
  });

  it('is bounded: the least recently used text is evicted', () => {
    const analyzer = new SqlAnalyzer(3);
    const first = analyzer.analyze('select 1');
    for (const n of [2, 3, 4]) analyzer.analyze(`select ${n}`);
    expect(analyzer.size).toBe(3);
    expect(analyzer.analyze('select 1')).not.toBe(first);
  });

  it('does not memoize a text that fails to parse', () => {
    const analyzer = new SqlAnalyzer(10);
    expect(() => analyzer.analyze('selec 1')).toThrow(SqlSyntaxError);
    expect(analyzer.size).toBe(0);
  });
});

function capture(work: () => unknown): SqlSyntaxError {
  try {
    work();
  } catch (error) {
    return error as SqlSyntaxError;
  }
  throw new Error('expected a SqlSyntaxError');
}
