import type { AstNode } from './parser.js';
import { CLOCK_VALUE_FUNCTIONS, clockFunctionName } from './functions.js';

/** A table a statement reads or writes. `key` is `schema.name` when the text names the schema, else `name`. */
export interface TableReference {
  key: string;
  schema: string | null;
  name: string;
  read: boolean;
  written: boolean;
}

/** The value side of a simple predicate. */
export type PredicateValue =
  | { kind: 'constant'; value: string | number | boolean | null }
  | { kind: 'parameter'; index: number }
  | { kind: 'list'; items: PredicateValue[] }
  | { kind: 'none' };

/** `column op value` on one table, from a top-level AND of a WHERE or JOIN … ON. */
export interface Predicate {
  table: string;
  column: string;
  /** '=', '<>', '<', '<=', '>', '>=', 'IN', 'NOT IN', '= ANY', 'BETWEEN', 'NOT BETWEEN', 'IS NULL', 'IS NOT NULL', 'IS TRUE', 'IS NOT TRUE', 'IS FALSE', 'IS NOT FALSE', 'LIKE', 'ILIKE', 'NOT LIKE', 'NOT ILIKE' or another operator. */
  op: string;
  value: PredicateValue;
}

/** A column of a table, resolved through aliases. */
export interface ColumnKey {
  table: string;
  column: string;
}

/** An equality between columns of two relations (`a.x = b.y`). */
export interface JoinCondition {
  left: ColumnKey;
  right: ColumnKey;
}

/** One ORDER BY key that resolves to a table column. */
export interface OrderKey extends ColumnKey {
  descending: boolean;
  nullsFirst: boolean | null;
}

/** Everything a statement touches, as far as the text alone tells. */
export interface StatementReferences {
  tables: TableReference[];
  /** Columns read per table key; `*` when every column is read. */
  columns: Record<string, string[]>;
  /** Columns written per table key; `*` for INSERT without a column list, DELETE and TRUNCATE. */
  writtenColumns: Record<string, string[]>;
  /** Unqualified columns in a scope with several tables: the text alone cannot say whose they are. */
  unresolvedColumns: Array<{ column: string; candidates: string[] }>;
  predicates: Predicate[];
  joins: JoinCondition[];
  orderBy: OrderKey[];
  groupBy: ColumnKey[];
  limit: PredicateValue | null;
  offset: PredicateValue | null;
  functions: string[];
  /** Functions (and CURRENT_TIMESTAMP-style keywords) whose result changes between calls. */
  clockOrVolatileCalls: string[];
  lockingClause: boolean;
  selectInto: boolean;
  /** A data-modifying statement inside a WITH. */
  modifyingCte: boolean;
  subqueries: number;
  ctes: number;
  windowFunctions: number;
  joinCount: number;
}

type Binding = { kind: 'table'; key: string } | { kind: 'derived' };

class Scope {
  readonly bindings = new Map<string, Binding>();
  readonly ctes = new Set<string>();

  constructor(readonly parent: Scope | null) {}

  isCte(name: string): boolean {
    return this.ctes.has(name) || (this.parent?.isCte(name) ?? false);
  }

  lookup(name: string): Binding | undefined {
    return this.bindings.get(name) ?? this.parent?.lookup(name);
  }

  tableKeys(): string[] {
    const keys: string[] = [];
    for (const binding of this.bindings.values()) if (binding.kind === 'table') keys.push(binding.key);
    return [...new Set(keys)];
  }
}

const DATA_MODIFYING = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

const NULL_TESTS: Record<string, string> = { IS_NULL: 'IS NULL', IS_NOT_NULL: 'IS NOT NULL' };
const BOOLEAN_TESTS: Record<string, string> = {
  IS_TRUE: 'IS TRUE', IS_NOT_TRUE: 'IS NOT TRUE', IS_FALSE: 'IS FALSE', IS_NOT_FALSE: 'IS NOT FALSE',
  IS_UNKNOWN: 'IS NULL', IS_NOT_UNKNOWN: 'IS NOT NULL',
};
const LIKE_OPERATORS: Record<string, string> = { '~~': 'LIKE', '!~~': 'NOT LIKE', '~~*': 'ILIKE', '!~~*': 'NOT ILIKE' };

/** A child node of a parse-tree node, or undefined. */
export function child(node: unknown, key: string): AstNode | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const value = (node as AstNode)[key];
  return typeof value === 'object' && value !== null ? (value as AstNode) : undefined;
}

/** A list-valued field of a parse-tree node ([] when absent). */
export function list(node: unknown, key: string): AstNode[] {
  if (typeof node !== 'object' || node === null) return [];
  const value = (node as AstNode)[key];
  return Array.isArray(value) ? (value as AstNode[]) : [];
}

function str(node: unknown, key: string): string | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const value = (node as AstNode)[key];
  return typeof value === 'string' ? value : undefined;
}

/** The single key of a node wrapper (`{ SelectStmt: {...} }` → 'SelectStmt'). */
export function nodeType(node: AstNode): string {
  return Object.keys(node)[0] ?? '';
}

function names(items: AstNode[]): string[] {
  return items.map((item) => str(child(item, 'String'), 'sval') ?? '');
}

/** The value of an A_Const node; protobuf JSON omits zero values, so a missing field means 0/false/''. */
export function constantValue(aConst: AstNode): string | number | boolean | null {
  if (aConst.isnull) return null;
  if ('ival' in aConst) return Number(child(aConst, 'ival')?.ival ?? 0);
  if ('fval' in aConst) return Number(str(child(aConst, 'fval'), 'fval') ?? 0);
  if ('boolval' in aConst) return Boolean(child(aConst, 'boolval')?.boolval ?? false);
  if ('sval' in aConst) return str(child(aConst, 'sval'), 'sval') ?? '';
  if ('bsval' in aConst) return str(child(aConst, 'bsval'), 'bsval') ?? '';
  return null;
}

function valueOf(node: AstNode | undefined): PredicateValue | null {
  if (!node) return null;
  const type = nodeType(node);
  const body = node[type] as AstNode;
  if (type === 'A_Const') return { kind: 'constant', value: constantValue(body) };
  if (type === 'ParamRef') return { kind: 'parameter', index: Number(body.number ?? 0) };
  if (type === 'TypeCast') return valueOf(child(body, 'arg'));
  if (type === 'List') {
    const items = list(body, 'items').map(valueOf);
    return items.every((item) => item !== null) ? { kind: 'list', items: items as PredicateValue[] } : null;
  }
  if (type === 'A_ArrayExpr') {
    const items = list(body, 'elements').map(valueOf);
    return items.every((item) => item !== null) ? { kind: 'list', items: items as PredicateValue[] } : null;
  }
  return null;
}

function addUnique<T>(target: T[], value: T): void {
  if (!target.includes(value)) target.push(value);
}

/** Walks one statement's parse tree and collects its tables, columns, predicates and shape. */
export class ReferenceCollector {
  private readonly tables = new Map<string, TableReference>();
  private readonly facts: StatementReferences = {
    tables: [],
    columns: {},
    writtenColumns: {},
    unresolvedColumns: [],
    predicates: [],
    joins: [],
    orderBy: [],
    groupBy: [],
    limit: null,
    offset: null,
    functions: [],
    clockOrVolatileCalls: [],
    lockingClause: false,
    selectInto: false,
    modifyingCte: false,
    subqueries: 0,
    ctes: 0,
    windowFunctions: 0,
    joinCount: 0,
  };

  /** Collects the references of a top-level statement node. */
  collect(stmt: AstNode): StatementReferences {
    this.statement(stmt, new Scope(null), true);
    this.facts.tables = [...this.tables.values()];
    return this.facts;
  }

  private statement(node: AstNode, scope: Scope, topLevel: boolean): void {
    const type = nodeType(node);
    const body = node[type] as AstNode;
    switch (type) {
      case 'SelectStmt':
        return this.select(body, scope, topLevel);
      case 'InsertStmt':
        return this.insert(body, scope);
      case 'UpdateStmt':
        return this.update(body, scope);
      case 'DeleteStmt':
        return this.delete(body, scope);
      case 'MergeStmt':
        return this.merge(body, scope);
      case 'ExplainStmt': {
        const inner = child(body, 'query');
        if (inner) this.statement(inner, scope, topLevel);
        return;
      }
      case 'CopyStmt':
        return this.copy(body, scope);
      case 'TruncateStmt':
        for (const relation of list(body, 'relations')) this.markWholeTableWritten(this.rangeVarTable(child(relation, 'RangeVar')!));
        return;
      default:
        // DDL and utility statements: every relation they name is written (its definition or data may change).
        this.anyRangeVars(body, (rangeVar) => this.markWholeTableWritten(this.rangeVarTable(rangeVar)));
    }
  }

  private withClause(body: AstNode, scope: Scope): void {
    const withClause = child(body, 'withClause');
    if (!withClause) return;
    const recursive = Boolean(withClause.recursive);
    for (const entry of list(withClause, 'ctes')) {
      const cte = child(entry, 'CommonTableExpr');
      if (!cte) continue;
      this.facts.ctes += 1;
      const name = str(cte, 'ctename') ?? '';
      if (recursive) scope.ctes.add(name);
      const query = child(cte, 'ctequery');
      if (query) {
        if (DATA_MODIFYING.has(nodeType(query))) this.facts.modifyingCte = true;
        this.statement(query, new Scope(scope), false);
      }
      scope.ctes.add(name);
    }
  }

  private select(body: AstNode, parent: Scope, topLevel: boolean): void {
    const scope = new Scope(parent);
    this.withClause(body, scope);
    const op = str(body, 'op');
    if (op && op !== 'SETOP_NONE') {
      const left = child(body, 'larg');
      const right = child(body, 'rarg');
      if (left) this.select(left, scope, false);
      if (right) this.select(right, scope, false);
      if (topLevel) this.limits(body, scope);
      this.sortClause(body, scope);
      return;
    }
    if (child(body, 'intoClause')) this.facts.selectInto = true;
    if (list(body, 'lockingClause').length > 0) this.facts.lockingClause = true;
    for (const item of list(body, 'fromClause')) this.fromItem(item, scope);
    for (const row of list(body, 'valuesLists')) this.expression(row, scope);
    for (const target of list(body, 'targetList')) this.expression(target, scope);
    this.conditions(child(body, 'whereClause'), scope);
    for (const group of list(body, 'groupClause')) {
      const column = this.resolveColumnNode(group, scope);
      if (column) this.facts.groupBy.push(column);
      this.expression(group, scope);
    }
    this.expression(child(body, 'havingClause'), scope);
    for (const item of list(body, 'distinctClause')) this.expression(item, scope);
    for (const window of list(body, 'windowClause')) this.expression(window, scope);
    this.sortClause(body, scope, topLevel);
    if (topLevel) this.limits(body, scope);
    else {
      this.expression(child(body, 'limitCount'), scope);
      this.expression(child(body, 'limitOffset'), scope);
    }
  }

  private sortClause(body: AstNode, scope: Scope, recordKeys = false): void {
    for (const entry of list(body, 'sortClause')) {
      const sortBy = child(entry, 'SortBy');
      if (!sortBy) continue;
      const expression = child(sortBy, 'node');
      if (recordKeys && expression) {
        const column = this.resolveColumnNode(expression, scope);
        if (column) {
          const nulls = str(sortBy, 'sortby_nulls');
          this.facts.orderBy.push({
            ...column,
            descending: str(sortBy, 'sortby_dir') === 'SORTBY_DESC',
            nullsFirst: nulls === 'SORTBY_NULLS_FIRST' ? true : nulls === 'SORTBY_NULLS_LAST' ? false : null,
          });
        }
      }
      this.expression(expression, scope);
    }
  }

  private limits(body: AstNode, scope: Scope): void {
    const count = child(body, 'limitCount');
    const offset = child(body, 'limitOffset');
    if (count) this.facts.limit = valueOf(count) ?? { kind: 'none' };
    if (offset) this.facts.offset = valueOf(offset) ?? { kind: 'none' };
    this.expression(count, scope);
    this.expression(offset, scope);
  }

  private insert(body: AstNode, parent: Scope): void {
    const scope = new Scope(parent);
    this.withClause(body, scope);
    const table = this.rangeVarTable(child(body, 'relation')!);
    this.markWritten(table);
    const columns = list(body, 'cols').map((col) => str(child(col, 'ResTarget'), 'name') ?? '');
    for (const column of columns.length > 0 ? columns : ['*']) this.addColumn(this.facts.writtenColumns, table.key, column);
    const source = child(body, 'selectStmt');
    if (source) this.statement(source, scope, false);
    const target = new Scope(scope);
    target.bindings.set(table.name, { kind: 'table', key: table.key });
    const alias = str(child(child(body, 'relation'), 'alias'), 'aliasname');
    if (alias) target.bindings.set(alias, { kind: 'table', key: table.key });
    const conflict = child(body, 'onConflictClause');
    if (conflict) {
      for (const set of list(conflict, 'targetList')) {
        const name = str(child(set, 'ResTarget'), 'name');
        if (name) this.addColumn(this.facts.writtenColumns, table.key, name);
      }
      // ON CONFLICT … DO UPDATE sees the proposed row as `excluded`.
      const withExcluded = new Scope(target);
      withExcluded.bindings.set('excluded', { kind: 'derived' });
      this.expression(conflict, withExcluded);
    }
    this.returning(body, target);
  }

  private update(body: AstNode, parent: Scope): void {
    const scope = new Scope(parent);
    this.withClause(body, scope);
    const relation = child(body, 'relation')!;
    const table = this.bindRangeVar(relation, scope);
    this.markWritten(table);
    for (const item of list(body, 'fromClause')) this.fromItem(item, scope);
    for (const set of list(body, 'targetList')) {
      const name = str(child(set, 'ResTarget'), 'name');
      if (name) this.addColumn(this.facts.writtenColumns, table.key, name);
      this.expression(child(child(set, 'ResTarget'), 'val'), scope);
    }
    this.conditions(child(body, 'whereClause'), scope);
    this.returning(body, scope);
  }

  private delete(body: AstNode, parent: Scope): void {
    const scope = new Scope(parent);
    this.withClause(body, scope);
    const table = this.bindRangeVar(child(body, 'relation')!, scope);
    this.markWholeTableWritten(table);
    for (const item of list(body, 'usingClause')) this.fromItem(item, scope);
    this.conditions(child(body, 'whereClause'), scope);
    this.returning(body, scope);
  }

  private merge(body: AstNode, parent: Scope): void {
    const scope = new Scope(parent);
    this.withClause(body, scope);
    const table = this.bindRangeVar(child(body, 'relation')!, scope);
    this.markWholeTableWritten(table);
    const source = child(body, 'sourceRelation');
    if (source) this.fromItem(source, scope);
    this.conditions(child(body, 'joinCondition'), scope);
    for (const clause of list(body, 'mergeWhenClauses')) this.expression(clause, scope);
    this.returning(body, scope);
  }

  private copy(body: AstNode, scope: Scope): void {
    const relation = child(body, 'relation');
    if (relation) {
      const table = this.rangeVarTable(relation);
      if (body.is_from) this.markWholeTableWritten(table);
      else {
        table.read = true;
        this.addColumn(this.facts.columns, table.key, '*');
      }
    }
    const query = child(body, 'query');
    if (query) this.statement(query, scope, false);
  }

  private returning(body: AstNode, scope: Scope): void {
    const clause = child(body, 'returningClause');
    for (const target of list(clause, 'exprs')) this.expression(target, scope);
    for (const target of list(body, 'returningList')) this.expression(target, scope);
  }

  private fromItem(item: AstNode, scope: Scope): void {
    const type = nodeType(item);
    const body = item[type] as AstNode;
    switch (type) {
      case 'RangeVar': {
        const name = str(body, 'relname') ?? '';
        const alias = str(child(body, 'alias'), 'aliasname');
        if (!str(body, 'schemaname') && scope.isCte(name)) {
          scope.bindings.set(alias ?? name, { kind: 'derived' });
          return;
        }
        const table = this.bindRangeVar(body, scope);
        table.read = true;
        return;
      }
      case 'JoinExpr': {
        this.facts.joinCount += 1;
        const left = child(body, 'larg');
        const right = child(body, 'rarg');
        if (left) this.fromItem(left, scope);
        if (right) this.fromItem(right, scope);
        for (const column of list(body, 'usingClause')) {
          const name = str(child(column, 'String'), 'sval');
          const keys = scope.tableKeys();
          if (name && keys.length >= 2) this.facts.joins.push({ left: { table: keys[keys.length - 2]!, column: name }, right: { table: keys[keys.length - 1]!, column: name } });
        }
        this.conditions(child(body, 'quals'), scope);
        const alias = str(child(body, 'alias'), 'aliasname');
        if (alias) scope.bindings.set(alias, { kind: 'derived' });
        return;
      }
      case 'RangeSubselect': {
        this.facts.subqueries += 1;
        const subquery = child(body, 'subquery');
        if (subquery) this.statement(subquery, scope, false);
        const alias = str(child(body, 'alias'), 'aliasname');
        if (alias) scope.bindings.set(alias, { kind: 'derived' });
        return;
      }
      case 'RangeFunction': {
        this.expression(body, scope);
        const alias = str(child(body, 'alias'), 'aliasname');
        if (alias) scope.bindings.set(alias, { kind: 'derived' });
        return;
      }
      default:
        this.expression(item, scope);
    }
  }

  private rangeVarTable(rangeVar: AstNode): TableReference {
    const schema = str(rangeVar, 'schemaname') ?? null;
    const name = str(rangeVar, 'relname') ?? '';
    const key = schema ? `${schema}.${name}` : name;
    let table = this.tables.get(key);
    if (!table) {
      table = { key, schema, name, read: false, written: false };
      this.tables.set(key, table);
    }
    return table;
  }

  private bindRangeVar(rangeVar: AstNode, scope: Scope): TableReference {
    const table = this.rangeVarTable(rangeVar);
    const alias = str(child(rangeVar, 'alias'), 'aliasname');
    scope.bindings.set(alias ?? table.name, { kind: 'table', key: table.key });
    if (!alias && table.schema) scope.bindings.set(table.key, { kind: 'table', key: table.key });
    return table;
  }

  private markWritten(table: TableReference): void {
    table.written = true;
  }

  private markWholeTableWritten(table: TableReference): void {
    table.written = true;
    this.addColumn(this.facts.writtenColumns, table.key, '*');
  }

  private anyRangeVars(node: unknown, visit: (rangeVar: AstNode) => void): void {
    if (Array.isArray(node)) {
      for (const item of node) this.anyRangeVars(item, visit);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node as AstNode)) {
      if (key === 'RangeVar' || key === 'relation') {
        if (typeof value === 'object' && value !== null && 'relname' in (value as AstNode)) {
          visit(value as AstNode);
          continue;
        }
      }
      this.anyRangeVars(value, visit);
    }
  }

  private addColumn(target: Record<string, string[]>, table: string, column: string): void {
    const columns = (target[table] ??= []);
    addUnique(columns, column);
  }

  /** Splits a WHERE/ON expression into its top-level AND terms and records the simple ones. */
  private conditions(node: AstNode | undefined, scope: Scope): void {
    if (!node) return;
    for (const term of this.conjuncts(node)) this.predicate(term, scope);
    this.expression(node, scope);
  }

  private conjuncts(node: AstNode): AstNode[] {
    const bool = child(node, 'BoolExpr');
    if (bool && str(bool, 'boolop') === 'AND_EXPR') return list(bool, 'args').flatMap((arg) => this.conjuncts(arg));
    return [node];
  }

  private predicate(term: AstNode, scope: Scope): void {
    const type = nodeType(term);
    const body = term[type] as AstNode;
    if (type === 'NullTest' || type === 'BooleanTest') {
      const column = this.resolveColumnNode(child(body, 'arg'), scope);
      const op = type === 'NullTest' ? NULL_TESTS[str(body, 'nulltesttype') ?? ''] : BOOLEAN_TESTS[str(body, 'booltesttype') ?? ''];
      if (column && op) this.facts.predicates.push({ ...column, op, value: { kind: 'none' } });
      return;
    }
    if (type === 'ColumnRef') {
      const column = this.resolveColumnNode(term, scope);
      if (column) this.facts.predicates.push({ ...column, op: '=', value: { kind: 'constant', value: true } });
      return;
    }
    if (type === 'BoolExpr' && str(body, 'boolop') === 'NOT_EXPR') {
      const column = this.resolveColumnNode(list(body, 'args')[0], scope);
      if (column) this.facts.predicates.push({ ...column, op: '=', value: { kind: 'constant', value: false } });
      return;
    }
    if (type === 'A_Expr') this.comparison(body, scope);
  }

  private comparison(body: AstNode, scope: Scope): void {
    const kind = str(body, 'kind');
    const operator = names(list(body, 'name')).pop() ?? '';
    const left = child(body, 'lexpr');
    const right = child(body, 'rexpr');
    const leftColumn = this.resolveColumnNode(left, scope);
    const rightColumn = this.resolveColumnNode(right, scope);
    if (kind === 'AEXPR_OP' && operator === '=' && leftColumn && rightColumn) {
      if (leftColumn.table !== rightColumn.table) this.facts.joins.push({ left: leftColumn, right: rightColumn });
      return;
    }
    const column = leftColumn ?? rightColumn;
    const other = leftColumn ? right : left;
    if (!column) return;
    const value = valueOf(other);
    if (!value) return;
    const op = this.operatorName(kind, operator, Boolean(leftColumn));
    if (op) this.facts.predicates.push({ ...column, op, value });
  }

  private operatorName(kind: string | undefined, operator: string, columnOnLeft: boolean): string | null {
    switch (kind) {
      case 'AEXPR_OP': {
        if (columnOnLeft) return operator;
        const mirrored: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=' };
        return mirrored[operator] ?? operator;
      }
      case 'AEXPR_IN':
        return operator === '<>' ? 'NOT IN' : 'IN';
      case 'AEXPR_OP_ANY':
        return columnOnLeft ? `${operator} ANY` : null;
      case 'AEXPR_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
        return 'BETWEEN';
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_NOT_BETWEEN_SYM':
        return 'NOT BETWEEN';
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE':
        return columnOnLeft ? (LIKE_OPERATORS[operator] ?? operator) : null;
      default:
        return null;
    }
  }

  /** Resolves a ColumnRef (possibly under a cast) to a table column; null for anything else. */
  private resolveColumnNode(node: AstNode | undefined, scope: Scope): ColumnKey | null {
    if (!node) return null;
    const cast = child(node, 'TypeCast');
    if (cast) return this.resolveColumnNode(child(cast, 'arg'), scope);
    const ref = child(node, 'ColumnRef');
    if (!ref) return null;
    const fields = list(ref, 'fields');
    if (fields.some((field) => 'A_Star' in field)) return null;
    const parts = names(fields);
    return this.resolve(parts, scope);
  }

  private resolve(parts: string[], scope: Scope): ColumnKey | null {
    const column = parts[parts.length - 1]!;
    if (parts.length >= 2) {
      const relation = parts.slice(0, -1).join('.');
      const binding = scope.lookup(relation) ?? scope.lookup(parts[parts.length - 2]!);
      return binding?.kind === 'table' ? { table: binding.key, column } : null;
    }
    // PostgreSQL resolves an unqualified column in the innermost scope that has it; without the catalog
    // qopt can only be sure when that scope has exactly one relation.
    for (let current: Scope | null = scope; current; current = current.parent) {
      if (current.bindings.size === 0) continue;
      const keys = current.tableKeys();
      const derived = [...current.bindings.values()].some((binding) => binding.kind === 'derived');
      return keys.length === 1 && !derived ? { table: keys[0]!, column } : null;
    }
    return null;
  }

  private columnRef(ref: AstNode, scope: Scope): void {
    const fields = list(ref, 'fields');
    const star = fields.some((field) => 'A_Star' in field);
    const parts = names(fields.filter((field) => !('A_Star' in field)));
    if (star) {
      if (parts.length === 0) {
        for (const key of scope.tableKeys()) this.addColumn(this.facts.columns, key, '*');
        return;
      }
      const binding = scope.lookup(parts.join('.')) ?? scope.lookup(parts[parts.length - 1]!);
      if (binding?.kind === 'table') this.addColumn(this.facts.columns, binding.key, '*');
      return;
    }
    const resolved = this.resolve(parts, scope);
    if (resolved) {
      this.addColumn(this.facts.columns, resolved.table, resolved.column);
      return;
    }
    if (parts.length === 1) this.unresolved(parts[0]!, scope);
  }

  private unresolved(column: string, scope: Scope): void {
    const candidates = new Set<string>();
    for (let current: Scope | null = scope; current; current = current.parent) {
      for (const key of current.tableKeys()) candidates.add(key);
    }
    if (candidates.size === 0) return;
    const known = this.facts.unresolvedColumns.find((entry) => entry.column === column);
    if (known) {
      for (const key of candidates) addUnique(known.candidates, key);
      return;
    }
    this.facts.unresolvedColumns.push({ column, candidates: [...candidates] });
  }

  private funcCall(body: AstNode): void {
    const funcName = names(list(body, 'funcname'));
    const name = funcName[funcName.length - 1]!.toLowerCase();
    const qualified = funcName.length > 1 && funcName[0] !== 'pg_catalog' ? funcName.join('.').toLowerCase() : name;
    addUnique(this.facts.functions, qualified);
    if (child(body, 'over')) this.facts.windowFunctions += 1;
  }

  /** Generic walk of an expression: columns, functions, sub-selects. */
  private expression(node: unknown, scope: Scope): void {
    if (Array.isArray(node)) {
      for (const item of node) this.expression(item, scope);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node as AstNode)) {
      switch (key) {
        case 'ColumnRef':
          this.columnRef(value as AstNode, scope);
          continue;
        case 'SubLink': {
          this.facts.subqueries += 1;
          const sub = value as AstNode;
          this.expression(child(sub, 'testexpr'), scope);
          const select = child(sub, 'subselect');
          if (select) this.statement(select, scope, false);
          continue;
        }
        case 'FuncCall':
          this.funcCall(value as AstNode);
          break;
        case 'SQLValueFunction': {
          const op = str(value, 'op') ?? '';
          if (CLOCK_VALUE_FUNCTIONS.has(op)) addUnique(this.facts.clockOrVolatileCalls, clockFunctionName(op));
          continue;
        }
        case 'SelectStmt':
        case 'InsertStmt':
        case 'UpdateStmt':
        case 'DeleteStmt':
          this.statement({ [key]: value } as AstNode, scope, false);
          continue;
        default:
          break;
      }
      this.expression(value, scope);
    }
  }
}
