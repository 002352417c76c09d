import { describe, expect, it } from 'vitest';
import { analyzeSql } from '../../src/index.js';
import type { Predicate } from '../../src/index.js';

interface Case {
  name: string;
  sql: string;
  reads: string[];
  writes?: string[];
  columns?: Record<string, string[]>;
  written?: Record<string, string[]>;
  predicates?: Array<Pick<Predicate, 'table' | 'column' | 'op'> & { value?: unknown }>;
  joins?: Array<[string, string]>;
  unresolved?: string[];
}

const CASES: Case[] = [
  { name: 'a single-table select', sql: 'select id, email from users where id = $1', reads: ['users'], columns: { users: ['id', 'email'] }, predicates: [{ table: 'users', column: 'id', op: '=', value: { kind: 'parameter', index: 1 } }] },
  { name: 'select star', sql: 'select * from users', reads: ['users'], columns: { users: ['*'] } },
  { name: 'a schema-qualified table', sql: 'select name from app.users where org_id = 3', reads: ['app.users'], columns: { 'app.users': ['name', 'org_id'] }, predicates: [{ table: 'app.users', column: 'org_id', op: '=', value: { kind: 'constant', value: 3 } }] },
  { name: 'a qualified table referenced by its full name', sql: 'select app.users.name from app.users', reads: ['app.users'], columns: { 'app.users': ['name'] } },
  { name: 'an aliased table', sql: 'select u.email from users u where u.role = $1', reads: ['users'], columns: { users: ['email', 'role'] }, predicates: [{ table: 'users', column: 'role', op: '=' }] },
  { name: 'an inner join with aliases', sql: 'select u.id, o.name from users u join organizations o on o.id = u.organization_id where o.id = 5', reads: ['users', 'organizations'], joins: [['organizations.id', 'users.organization_id']], predicates: [{ table: 'organizations', column: 'id', op: '=', value: { kind: 'constant', value: 5 } }] },
  { name: 'a left join', sql: 'select * from a left join b on a.id = b.a_id', reads: ['a', 'b'], columns: { a: ['*', 'id'], b: ['*', 'a_id'] }, joins: [['a.id', 'b.a_id']] },
  { name: 'a join with USING', sql: 'select * from a join b using (id)', reads: ['a', 'b'], joins: [['a.id', 'b.id']] },
  { name: 'an implicit cross join with a WHERE join', sql: 'select a.x from a, b where a.id = b.id and b.y > 10', reads: ['a', 'b'], joins: [['a.id', 'b.id']], predicates: [{ table: 'b', column: 'y', op: '>' }] },
  { name: 'three joined tables', sql: 'select * from a join b on b.a_id = a.id join c on c.b_id = b.id where c.kind = $1', reads: ['a', 'b', 'c'], predicates: [{ table: 'c', column: 'kind', op: '=' }] },
  { name: 'a CTE (the CTE name is not a table)', sql: 'with recent as (select * from orders where created_at > $1) select count(*) from recent', reads: ['orders'], predicates: [{ table: 'orders', column: 'created_at', op: '>' }] },
  { name: 'two CTEs, the second reading the first', sql: 'with a as (select id from t1), b as (select id from a join t2 using (id)) select * from b', reads: ['t1', 't2'] },
  { name: 'a recursive CTE', sql: 'with recursive tree as (select id, parent_id from nodes where id = $1 union all select n.id, n.parent_id from nodes n join tree on n.parent_id = tree.id) select * from tree', reads: ['nodes'], predicates: [{ table: 'nodes', column: 'id', op: '=' }] },
  { name: 'a CTE that shadows a table name', sql: 'with users as (select * from accounts) select * from users', reads: ['accounts'] },
  { name: 'a scalar subquery in the select list', sql: 'select o.id, (select count(*) from items i where i.order_id = o.id) from orders o', reads: ['orders', 'items'], columns: { orders: ['id'], items: ['order_id'] } },
  { name: 'an IN subquery', sql: 'select * from users where id in (select user_id from admins where active)', reads: ['users', 'admins'], predicates: [{ table: 'admins', column: 'active', op: '=', value: { kind: 'constant', value: true } }] },
  { name: 'an EXISTS subquery correlated to the outer table', sql: 'select * from users u where exists (select 1 from orders o where o.user_id = u.id)', reads: ['users', 'orders'], joins: [['orders.user_id', 'users.id']] },
  { name: 'a derived table', sql: 'select d.total from (select sum(amount) as total from payments where status = $1) d', reads: ['payments'], predicates: [{ table: 'payments', column: 'status', op: '=' }] },
  { name: 'a lateral subquery', sql: 'select r.id, c.answer from rows r cross join lateral (select answer from cells where cells.row_id = r.id order by updated_at desc limit 1) c', reads: ['rows', 'cells'], joins: [['cells.row_id', 'rows.id']] },
  { name: 'UNION of two tables', sql: 'select id from a where x = 1 union select id from b where y = 2', reads: ['a', 'b'], predicates: [{ table: 'a', column: 'x', op: '=' }, { table: 'b', column: 'y', op: '=' }] },
  { name: 'IN with literals', sql: 'select * from t where status in ($1, $2, 7)', reads: ['t'], predicates: [{ table: 't', column: 'status', op: 'IN' }] },
  { name: 'NOT IN with literals', sql: "select * from t where status not in ('a', 'b')", reads: ['t'], predicates: [{ table: 't', column: 'status', op: 'NOT IN' }] },
  { name: '= ANY of a parameter', sql: 'select * from t where id = any($1)', reads: ['t'], predicates: [{ table: 't', column: 'id', op: '= ANY', value: { kind: 'parameter', index: 1 } }] },
  { name: 'BETWEEN', sql: 'select * from prices where date between $1 and $2', reads: ['prices'], predicates: [{ table: 'prices', column: 'date', op: 'BETWEEN' }] },
  { name: 'IS NULL and IS NOT NULL', sql: 'select * from t where deleted_at is null and email is not null', reads: ['t'], predicates: [{ table: 't', column: 'deleted_at', op: 'IS NULL' }, { table: 't', column: 'email', op: 'IS NOT NULL' }] },
  { name: 'a constant on the left of the operator', sql: 'select * from t where 10 < amount', reads: ['t'], predicates: [{ table: 't', column: 'amount', op: '>' }] },
  { name: 'a cast parameter', sql: 'select * from t where created_at >= $1::timestamptz', reads: ['t'], predicates: [{ table: 't', column: 'created_at', op: '>=', value: { kind: 'parameter', index: 1 } }] },
  { name: 'LIKE', sql: "select * from users where email like '%@example.com'", reads: ['users'], predicates: [{ table: 'users', column: 'email', op: 'LIKE' }] },
  { name: 'IS TRUE and NOT column', sql: 'select * from api_keys where is_active is true and not revoked', reads: ['api_keys'], predicates: [{ table: 'api_keys', column: 'is_active', op: 'IS TRUE' }, { table: 'api_keys', column: 'revoked', op: '=', value: { kind: 'constant', value: false } }] },
  { name: 'OR terms are not single-table restrictions', sql: 'select * from t where a = 1 or b = 2', reads: ['t'], predicates: [] },
  { name: 'GROUP BY and ORDER BY', sql: 'select sector, count(*) from symbols group by sector order by sector desc', reads: ['symbols'], columns: { symbols: ['sector'] } },
  { name: 'an unqualified column in a join cannot be attributed from the text alone', sql: 'select name from users u join orgs o on o.id = u.org_id', reads: ['users', 'orgs'], unresolved: ['name'] },
  { name: 'INSERT … VALUES', sql: 'insert into users (id, email) values ($1, $2)', reads: [], writes: ['users'], written: { users: ['id', 'email'] } },
  { name: 'INSERT without a column list writes every column', sql: 'insert into t values (1, 2)', reads: [], writes: ['t'], written: { t: ['*'] } },
  { name: 'INSERT … SELECT', sql: 'insert into archive (id, body) select id, body from messages where created_at < $1', reads: ['messages'], writes: ['archive'], predicates: [{ table: 'messages', column: 'created_at', op: '<' }] },
  { name: 'INSERT … ON CONFLICT DO UPDATE', sql: 'insert into counters (key, n) values ($1, 1) on conflict (key) do update set n = counters.n + excluded.n', reads: [], writes: ['counters'], written: { counters: ['key', 'n'] } },
  { name: 'INSERT … RETURNING', sql: 'insert into t (a) values (1) returning id', reads: [], writes: ['t'], columns: { t: ['id'] } },
  { name: 'UPDATE with WHERE', sql: 'update cells set answer = $1 where id = $2', reads: [], writes: ['cells'], written: { cells: ['answer'] }, predicates: [{ table: 'cells', column: 'id', op: '=' }] },
  { name: 'UPDATE … FROM', sql: 'update cells c set answer = r.label from rows r where r.id = c.row_id and r.tab_id = $1', reads: ['rows'], writes: ['cells'], written: { cells: ['answer'] }, joins: [['rows.id', 'cells.row_id']], predicates: [{ table: 'rows', column: 'tab_id', op: '=' }] },
  { name: 'DELETE with WHERE', sql: 'delete from sessions where expires_at < $1', reads: [], writes: ['sessions'], written: { sessions: ['*'] }, predicates: [{ table: 'sessions', column: 'expires_at', op: '<' }] },
  { name: 'DELETE … USING', sql: 'delete from items i using orders o where o.id = i.order_id and o.status = $1', reads: ['orders'], writes: ['items'], joins: [['orders.id', 'items.order_id']], predicates: [{ table: 'orders', column: 'status', op: '=' }] },
  { name: 'a data-modifying CTE', sql: 'with moved as (delete from queue where id = $1 returning *) insert into done select * from moved', reads: [], writes: ['queue', 'done'] },
  { name: 'a write CTE read by the main select', sql: 'with x as (update t set n = n + 1 where id = 1 returning n) select n from x', reads: [], writes: ['t'] },
  { name: 'MERGE', sql: 'merge into stock s using deliveries d on s.item = d.item when matched then update set qty = s.qty + d.qty when not matched then insert values (d.item, d.qty)', reads: ['deliveries'], writes: ['stock'] },
  { name: 'TRUNCATE', sql: 'truncate a, b', reads: [], writes: ['a', 'b'] },
  { name: 'CREATE INDEX names its table as changed', sql: 'create index on prices (symbol)', reads: [], writes: ['prices'] },
  { name: 'a window function over a table', sql: 'select * from (select c.*, row_number() over (partition by row_id order by updated_at desc) rn from cells c where c.tab_id = $1) x where rn = 1', reads: ['cells'], predicates: [{ table: 'cells', column: 'tab_id', op: '=' }] },
];

function tablesOf(sql: string) {
  return analyzeSql(sql);
}

describe('table, column and predicate extraction', () => {
  it('covers at least 40 queries', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  for (const testCase of CASES) {
    it(`reads the references of ${testCase.name}`, () => {
      const analysis = tablesOf(testCase.sql);
      const statement = analysis.statements[0]!;
      expect([...analysis.readTables].sort()).toEqual([...testCase.reads].sort());
      expect([...analysis.writeTables].sort()).toEqual([...(testCase.writes ?? [])].sort());
      for (const [table, columns] of Object.entries(testCase.columns ?? {})) {
        expect([...(statement.columns[table] ?? [])].sort()).toEqual([...columns].sort());
      }
      for (const [table, columns] of Object.entries(testCase.written ?? {})) {
        expect([...(statement.writtenColumns[table] ?? [])].sort()).toEqual([...columns].sort());
      }
      if (testCase.predicates) {
        const found = analysis.statements.flatMap((s) => s.predicates);
        expect(found).toHaveLength(testCase.predicates.length);
        for (const expected of testCase.predicates) expect(found).toContainEqual(expect.objectContaining(expected));
      }
      for (const [left, right] of testCase.joins ?? []) {
        const joins = analysis.statements.flatMap((s) => s.joins).map((join) => [`${join.left.table}.${join.left.column}`, `${join.right.table}.${join.right.column}`].sort());
        expect(joins).toContainEqual([left, right].sort());
      }
      for (const column of testCase.unresolved ?? []) {
        expect(statement.unresolvedColumns.map((entry) => entry.column)).toContain(column);
      }
    });
  }

  it('records ORDER BY keys with their direction and LIMIT/OFFSET values', () => {
    const statement = analyzeSql('select * from t where a = 1 order by t.created_at desc, id limit 20 offset $1').statements[0]!;
    expect(statement.orderBy).toEqual([
      { table: 't', column: 'created_at', descending: true, nullsFirst: null },
      { table: 't', column: 'id', descending: false, nullsFirst: null },
    ]);
    expect(statement.limit).toEqual({ kind: 'constant', value: 20 });
    expect(statement.offset).toEqual({ kind: 'parameter', index: 1 });
  });

  it('records GROUP BY columns', () => {
    const statement = analyzeSql('select s.sector, count(*) from symbols s group by s.sector').statements[0]!;
    expect(statement.groupBy).toEqual([{ table: 'symbols', column: 'sector' }]);
  });

  it('reads constant values of predicates, including zero and negative numbers', () => {
    const predicates = analyzeSql("select * from t where a = 0 and b = -2.5 and c = 'x' and d = false and e is null").statements[0]!.predicates;
    expect(predicates.map((p) => p.value)).toEqual([
      { kind: 'constant', value: 0 },
      { kind: 'constant', value: -2.5 },
      { kind: 'constant', value: 'x' },
      { kind: 'constant', value: false },
      { kind: 'none' },
    ]);
  });

  it('counts the highest parameter number', () => {
    expect(analyzeSql('select * from t where a = $1 and b = $3').parameterCount).toBe(3);
  });
});
