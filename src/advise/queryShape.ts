import { deparseSync } from 'pgsql-deparser';
import type { AstNode } from '../sql/parser.js';
import { child, list, nodeType } from '../sql/references.js';

/** How a statement touches one base table: what an index on it could serve. */
export interface TableAccess {
  table: string;
  /** Columns compared for equality with a value (`= $1`, `IN (…)`, `= md5($1)`). */
  equality: string[];
  /** Columns bounded by a range (`<`, `>=`, BETWEEN). */
  range: string[];
  /** Columns joined to another relation by equality. */
  joinColumns: string[];
  /** ORDER BY keys when all of them are this table's columns. */
  sort: Array<{ column: string; descending: boolean }>;
  /** Window PARTITION BY / ORDER BY keys ("latest row per key" queries). */
  windows: Array<{ partition: string[]; order: Array<{ column: string; descending: boolean }> }>;
  groupBy: string[];
  /** Expressions compared for equality (`lower(email)`, `(doc ->> 'k')`), alias-free. */
  expressions: string[];
  /** Conditions on constants only (`deleted IS NOT TRUE`, `is_active = true`), alias-free: partial-index predicates. */
  constantConditions: string[];
  /** The columns those constant conditions test. */
  constantColumns: string[];
  /** Columns matched with `LIKE '%…'` / ILIKE: trigram GIN candidates. */
  trigram: string[];
  /** jsonb columns matched with `@>` / `?`: GIN candidates. */
  jsonContainment: string[];
  /** Every column read (`*` when all are). */
  readColumns: string[];
  hasLimit: boolean;
}

type Aliases = Map<string, string>;

function body(node: AstNode): AstNode {
  return node[nodeType(node)] as AstNode;
}

function sval(node: AstNode): string | undefined {
  const inner = child(node, 'String');
  return typeof inner?.sval === 'string' ? inner.sval : undefined;
}

/** Every node of a subtree (objects with a single node-type key), depth-first. */
function* walk(node: unknown): Generator<AstNode> {
  if (Array.isArray(node)) {
    for (const item of node) yield* walk(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  yield node as AstNode;
  for (const value of Object.values(node)) yield* walk(value);
}

function columnRefs(node: unknown): AstNode[] {
  const refs: AstNode[] = [];
  for (const item of walk(node)) {
    const ref = child(item, 'ColumnRef');
    if (ref) refs.push(ref);
  }
  return refs;
}

function hasSubquery(node: unknown): boolean {
  for (const item of walk(node)) if ('SubLink' in item || 'SelectStmt' in item) return true;
  return false;
}

/** Removes the relation qualifier of every column reference so an expression reads as in CREATE INDEX. */
function stripQualifiers(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripQualifiers);
  if (typeof node !== 'object' || node === null) return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'ColumnRef') {
      const fields = list(value, 'fields');
      copy[key] = { ...(value as AstNode), fields: fields.slice(-1) };
    } else copy[key] = stripQualifiers(value);
  }
  return copy;
}

/** The alias-free SQL text of an expression node. */
export function expressionText(node: AstNode): string {
  return deparseSync(stripQualifiers(node) as never).replace(/\s+/g, ' ').trim();
}

class SelectScope {
  readonly aliases: Aliases = new Map();
  readonly accesses = new Map<string, TableAccess>();

  constructor(private readonly ctes: ReadonlySet<string>) {}

  addRelations(from: AstNode[]): void {
    for (const item of from) {
      const rangeVar = child(item, 'RangeVar');
      if (rangeVar) {
        const name = String(rangeVar.relname ?? '');
        if (this.ctes.has(name) && !rangeVar.schemaname) continue;
        const alias = String(child(rangeVar, 'alias')?.aliasname ?? name);
        this.aliases.set(alias, rangeVar.schemaname ? `${String(rangeVar.schemaname)}.${name}` : name);
        continue;
      }
      const join = child(item, 'JoinExpr');
      if (join) this.addRelations([child(join, 'larg')!, child(join, 'rarg')!].filter(Boolean));
    }
  }

  /** The base table of a column reference, or undefined when it is not one (CTE, subquery, ambiguous). */
  resolve(ref: AstNode): { table: string; column: string } | undefined {
    const names = list(ref, 'fields').map(sval);
    if (names.some((name) => name === undefined)) return undefined;
    if (names.length === 2) {
      const table = this.aliases.get(names[0]!);
      return table ? { table, column: names[1]! } : undefined;
    }
    if (names.length === 1 && this.aliases.size === 1) {
      return { table: [...this.aliases.values()][0]!, column: names[0]! };
    }
    return undefined;
  }

  access(table: string): TableAccess {
    let access = this.accesses.get(table);
    if (!access) {
      access = {
        table, equality: [], range: [], joinColumns: [], sort: [], windows: [], groupBy: [], expressions: [],
        constantConditions: [], constantColumns: [], trigram: [], jsonContainment: [], readColumns: [], hasLimit: false,
      };
      this.accesses.set(table, access);
    }
    return access;
  }
}

function push(target: string[], value: string): void {
  if (!target.includes(value)) target.push(value);
}

function operatorOf(expr: AstNode): string {
  return list(expr, 'name').map(sval).join('.');
}

const RANGE_OPERATORS = new Set(['<', '<=', '>', '>=']);

/** Splits a condition into its top-level AND conjuncts. */
function conjuncts(node: AstNode | undefined): AstNode[] {
  if (!node) return [];
  const bool = child(node, 'BoolExpr');
  if (bool && bool.boolop === 'AND_EXPR') return list(bool, 'args').flatMap((arg) => conjuncts(arg));
  return [node];
}

class ShapeCollector {
  readonly accesses: TableAccess[] = [];

  statement(node: AstNode, ctes: ReadonlySet<string>): void {
    const type = nodeType(node);
    if (type === 'SelectStmt') this.select(body(node), ctes);
    else if (type === 'ExplainStmt') {
      const query = child(body(node), 'query');
      if (query) this.statement(query, ctes);
    } else if (type === 'UpdateStmt' || type === 'DeleteStmt') this.modify(body(node), ctes);
  }

  private modify(stmt: AstNode, ctes: ReadonlySet<string>): void {
    const scope = new SelectScope(ctes);
    const relation = child(stmt, 'relation');
    if (relation) scope.addRelations([{ RangeVar: relation }]);
    for (const condition of conjuncts(child(stmt, 'whereClause'))) this.condition(condition, scope);
    this.nested(stmt, ctes);
    this.accesses.push(...scope.accesses.values());
  }

  private select(stmt: AstNode, outerCtes: ReadonlySet<string>): void {
    const ctes = new Set(outerCtes);
    for (const entry of list(child(stmt, 'withClause'), 'ctes')) {
      const cte = child(entry, 'CommonTableExpr');
      if (cte) ctes.add(String(cte.ctename ?? ''));
    }
    for (const entry of list(child(stmt, 'withClause'), 'ctes')) {
      const query = child(child(entry, 'CommonTableExpr'), 'ctequery');
      if (query) this.statement(query, ctes);
    }
    for (const side of ['larg', 'rarg']) {
      const arm = child(stmt, side);
      if (arm) this.select(arm, ctes);
    }
    const from = list(stmt, 'fromClause');
    const scope = new SelectScope(ctes);
    scope.addRelations(from);
    for (const condition of conjuncts(child(stmt, 'whereClause'))) this.condition(condition, scope);
    for (const item of walk(from)) {
      const join = child(item, 'JoinExpr');
      if (join) for (const condition of conjuncts(child(join, 'quals'))) this.condition(condition, scope);
      const subselect = child(item, 'RangeSubselect');
      const subquery = child(subselect, 'subquery');
      if (subquery) this.statement(subquery, ctes);
    }
    this.orderBy(list(stmt, 'sortClause'), scope, Boolean(child(stmt, 'limitCount')));
    this.groupBy(list(stmt, 'groupClause'), scope);
    this.windows(stmt, scope);
    this.readColumns(stmt, scope);
    for (const node of walk([child(stmt, 'whereClause'), list(stmt, 'targetList')])) {
      const link = child(node, 'SubLink');
      const subselect = child(link, 'subselect');
      if (subselect) this.statement(subselect, ctes);
    }
    this.accesses.push(...scope.accesses.values());
  }

  private nested(stmt: AstNode, ctes: ReadonlySet<string>): void {
    for (const node of walk(child(stmt, 'whereClause'))) {
      const subselect = child(child(node, 'SubLink'), 'subselect');
      if (subselect) this.statement(subselect, ctes);
    }
  }

  private readColumns(stmt: AstNode, scope: SelectScope): void {
    for (const ref of columnRefs([list(stmt, 'targetList'), child(stmt, 'whereClause'), list(stmt, 'fromClause'), list(stmt, 'sortClause'), list(stmt, 'groupClause')])) {
      const fields = list(ref, 'fields');
      if (fields.some((field) => 'A_Star' in field)) {
        const qualifier = fields.length === 2 ? sval(fields[0]!) : undefined;
        const tables = qualifier ? [scope.aliases.get(qualifier)].filter(Boolean) : [...scope.aliases.values()];
        for (const table of tables) push(scope.access(table!).readColumns, '*');
        continue;
      }
      const resolved = scope.resolve(ref);
      if (resolved) push(scope.access(resolved.table).readColumns, resolved.column);
    }
  }

  private singleTableOf(node: AstNode, scope: SelectScope): { table: string; columns: string[] } | undefined {
    const refs = columnRefs(node);
    if (refs.length === 0 || hasSubquery(node)) return undefined;
    const resolved = refs.map((ref) => scope.resolve(ref));
    if (resolved.some((item) => item === undefined)) return undefined;
    const tables = new Set(resolved.map((item) => item!.table));
    if (tables.size !== 1) return undefined;
    return { table: resolved[0]!.table, columns: [...new Set(resolved.map((item) => item!.column))] };
  }

  private condition(node: AstNode, scope: SelectScope): void {
    const type = nodeType(node);
    const expr = body(node);
    if (type === 'A_Expr') return this.comparison(node, expr, scope);
    if (type === 'NullTest' || type === 'BooleanTest' || (type === 'BoolExpr' && expr.boolop === 'OR_EXPR')) {
      const owner = this.singleTableOf(node, scope);
      if (!owner) return;
      const access = scope.access(owner.table);
      push(access.constantConditions, expressionText(node));
      for (const column of owner.columns) push(access.constantColumns, column);
    }
  }

  private comparison(node: AstNode, expr: AstNode, scope: SelectScope): void {
    const kind = String(expr.kind ?? '');
    const left = child(expr, 'lexpr');
    const right = child(expr, 'rexpr');
    if (!left || !right) return;
    const leftRefs = columnRefs(left);
    const rightRefs = columnRefs(right);
    if (kind === 'AEXPR_OP' && operatorOf(expr) === '=' && leftRefs.length > 0 && rightRefs.length > 0) {
      return this.joinCondition(left, right, scope);
    }
    // Normalize to `column-side op value-side`; the value side references no column.
    const [columnSide, valueSide] = leftRefs.length > 0 && rightRefs.length === 0 ? [left, right] : rightRefs.length > 0 && leftRefs.length === 0 ? [right, left] : [undefined, undefined];
    if (!columnSide || !valueSide || hasSubquery(valueSide)) return;
    const owner = this.singleTableOf(columnSide, scope);
    if (!owner) return;
    const access = scope.access(owner.table);
    const plainColumn = 'ColumnRef' in columnSide ? owner.columns[0]! : undefined;
    const operator = operatorOf(expr);
    const constant = !walkHas(valueSide, 'ParamRef');
    if (kind === 'AEXPR_OP' && operator === '=') {
      if (plainColumn) push(access.equality, plainColumn);
      else push(access.expressions, expressionText(columnSide));
      if (constant && plainColumn) {
        push(access.constantConditions, expressionText(node));
        push(access.constantColumns, plainColumn);
      }
      return;
    }
    if (!plainColumn) return;
    if (kind === 'AEXPR_IN' || (kind === 'AEXPR_OP_ANY' && operator === '=')) return push(access.equality, plainColumn);
    if (kind === 'AEXPR_BETWEEN' || (kind === 'AEXPR_OP' && RANGE_OPERATORS.has(operator))) return push(access.range, plainColumn);
    if (kind === 'AEXPR_LIKE' || kind === 'AEXPR_ILIKE') {
      const pattern = child(child(valueSide, 'A_Const'), 'sval')?.sval;
      if (typeof pattern === 'string' && pattern.startsWith('%')) push(access.trigram, plainColumn);
      else if (typeof pattern === 'string' && !/[%_]/.test(pattern.charAt(0))) push(access.range, plainColumn);
      return;
    }
    if (kind === 'AEXPR_OP' && (operator === '@>' || operator === '?')) push(access.jsonContainment, plainColumn);
  }

  private joinCondition(left: AstNode, right: AstNode, scope: SelectScope): void {
    if (!('ColumnRef' in left) || !('ColumnRef' in right)) return;
    const a = scope.resolve(child(left, 'ColumnRef')!);
    const b = scope.resolve(child(right, 'ColumnRef')!);
    if (a && (!b || b.table !== a.table)) push(scope.access(a.table).joinColumns, a.column);
    if (b && (!a || a.table !== b.table)) push(scope.access(b.table).joinColumns, b.column);
  }

  private sortKeys(items: AstNode[], scope: SelectScope): Array<{ table: string; column: string; descending: boolean }> | undefined {
    const keys: Array<{ table: string; column: string; descending: boolean }> = [];
    for (const item of items) {
      const sortBy = child(item, 'SortBy');
      const ref = child(child(sortBy, 'node'), 'ColumnRef');
      const resolved = ref ? scope.resolve(ref) : undefined;
      if (!resolved) return undefined;
      keys.push({ ...resolved, descending: sortBy!.sortby_dir === 'SORTBY_DESC' });
    }
    return keys;
  }

  private orderBy(items: AstNode[], scope: SelectScope, hasLimit: boolean): void {
    const keys = this.sortKeys(items, scope);
    if (!keys || keys.length === 0) return;
    const tables = new Set(keys.map((key) => key.table));
    if (tables.size !== 1) return;
    const access = scope.access(keys[0]!.table);
    access.sort = keys.map(({ column, descending }) => ({ column, descending }));
    access.hasLimit = hasLimit;
  }

  private groupBy(items: AstNode[], scope: SelectScope): void {
    for (const item of items) {
      const ref = child(item, 'ColumnRef');
      const resolved = ref ? scope.resolve(ref) : undefined;
      if (resolved) push(scope.access(resolved.table).groupBy, resolved.column);
    }
  }

  private windows(stmt: AstNode, scope: SelectScope): void {
    for (const node of walk(list(stmt, 'targetList'))) {
      const over = child(child(node, 'FuncCall'), 'over');
      if (!over) continue;
      const partition: Array<{ table: string; column: string }> = [];
      for (const item of list(over, 'partitionClause')) {
        const ref = child(item, 'ColumnRef');
        const resolved = ref ? scope.resolve(ref) : undefined;
        if (resolved) partition.push(resolved);
      }
      const order = this.sortKeys(list(over, 'orderClause'), scope) ?? [];
      const tables = new Set([...partition, ...order].map((key) => key.table));
      if (tables.size !== 1) continue;
      scope.access([...tables][0]!).windows.push({
        partition: partition.map((key) => key.column),
        order: order.map(({ column, descending }) => ({ column, descending })),
      });
    }
  }
}

function walkHas(node: unknown, type: string): boolean {
  for (const item of walk(node)) if (type in item) return true;
  return false;
}

/** How each statement of a parse tree touches its base tables (one entry per table and SELECT scope). */
export function tableAccesses(statements: readonly AstNode[]): TableAccess[] {
  const collector = new ShapeCollector();
  for (const statement of statements) collector.statement(statement, new Set());
  return collector.accesses;
}
