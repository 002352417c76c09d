import type { SqlAnalysis, StatementAnalysis } from '../sql/analyze.js';
import type { Predicate, PredicateValue } from '../sql/references.js';

/**
 * A dependency of a cached entry: the value of one generation counter, or the difference of two.
 * The entry is valid while every value equals the one snapshotted before its database read.
 */
export interface GenerationRef {
  add: string;
  sub?: string;
}

/** Bumped by every data change qopt cannot place more precisely (opaque statements, `invalidateAll`). */
export const ALL_COUNTER = 'all';

/*
 * Counters per table t (its unqualified name, so `public.t` and `t` meet):
 *   t:t        every write to t
 *   r:t        writes that may change any column (insert, delete, unknown update)
 *   c:t:x      updates that write column x
 *   s:t:k      writes confined to rows with k = one of some values (k not written)
 *   v:t:k:val  writes confined to rows with k = val
 * An entry confined to rows k ∈ V is valid while v:t:k:val (val ∈ V) and t:t − s:t:k are unchanged:
 * the difference counts exactly the writes to t that were not confined by k.
 */
const table = (name: string): string => `t:${name}`;
const rows = (name: string): string => `r:${name}`;
const column = (name: string, col: string): string => `c:${name}:${col}`;
const scoped = (name: string, col: string): string => `s:${name}:${col}`;
const scopedValue = (name: string, col: string, value: string): string => `v:${name}:${col}:${value}`;
/** The counter of a tag. */
export const tagCounter = (tag: string): string => `g:${tag}`;
/** The counter every entry reading `name` depends on, bumped for a table-level invalidation. */
export const tableCounters = (name: string): string[] => [table(name), rows(name)];

const INTEGER = /^\s*([+-]?)0*(\d+)(?:\.0*)?\s*$/;
const IDENTIFIER = /^[a-z_][a-z0-9_-]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A value in a form where two different forms never denote the same database value, or null when
 * that cannot be promised (dates, floats, free text): then the statement is not confined to rows.
 */
export function canonicalScopeValue(value: unknown): string | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'string') return null;
  const integer = INTEGER.exec(value);
  if (integer) return `${integer[1] === '-' && integer[2] !== '0' ? '-' : ''}${integer[2] === '' ? '0' : integer[2]}`;
  // Lower-cased: citext and uuid compare case-insensitively; merging two keys only over-invalidates.
  const lower = value.toLowerCase();
  return IDENTIFIER.test(lower) || UUID.test(lower) ? lower : null;
}

function valuesOf(value: PredicateValue, params: readonly unknown[] | undefined): unknown[] | null {
  switch (value.kind) {
    case 'constant':
      return [value.value];
    case 'parameter': {
      if (!params || value.index > params.length) return null;
      const bound = params[value.index - 1];
      return Array.isArray(bound) ? bound : [bound];
    }
    case 'list': {
      const out: unknown[] = [];
      for (const item of value.items) {
        const inner = valuesOf(item, params);
        if (!inner) return null;
        out.push(...inner);
      }
      return out;
    }
    case 'none':
      return null;
  }
}

const EQUALITY_OPS = new Set(['=', 'IN', '= ANY']);

/** Row scope of a statement on its only table: the first equality predicate whose values are all canonical. */
function rowScopeOf(
  statement: StatementAnalysis,
  tableKey: string,
  params: readonly unknown[] | undefined,
  writtenColumns: readonly string[],
): { column: string; values: string[] } | null {
  if (statement.tables.length !== 1 || statement.subqueries > 0 || statement.ctes > 0 || statement.joinCount > 0) return null;
  if (statement.unresolvedColumns.length > 0) return null;
  for (const predicate of statement.predicates as readonly Predicate[]) {
    if (predicate.table !== tableKey || !EQUALITY_OPS.has(predicate.op)) continue;
    if (writtenColumns.includes(predicate.column) || writtenColumns.includes('*')) continue;
    const raw = valuesOf(predicate.value, params);
    if (!raw || raw.length === 0) continue;
    const values = raw.map(canonicalScopeValue);
    if (values.every((v): v is string => v !== null)) return { column: predicate.column, values: [...new Set(values)] };
  }
  return null;
}

function involvesParameter(value: PredicateValue): boolean {
  return value.kind === 'parameter' || (value.kind === 'list' && value.items.some(involvesParameter));
}

/** True when a read's row scope may come from its parameters, so its dependencies differ from call to call. */
function scopeMayUseParameters(analysis: SqlAnalysis): boolean {
  return analysis.statements.some((statement) =>
    (statement.predicates as readonly Predicate[]).some((predicate) => EQUALITY_OPS.has(predicate.op) && involvesParameter(predicate.value)),
  );
}

// The dependencies of reads whose parameters cannot change them, built once per (memoized, frozen) analysis
// (an L2 hit pays for them on every call otherwise); null for a read whose row scope may come from them.
const fixedReadDependencies = new WeakMap<SqlAnalysis, readonly GenerationRef[] | null>();

/** What a cacheable read depends on, as precisely as its text and parameters allow. */
export function readDependencies(analysis: SqlAnalysis, params: readonly unknown[], tags: readonly string[] = []): readonly GenerationRef[] {
  if (tags.length > 0) return buildReadDependencies(analysis, params, tags);
  const fixed = fixedReadDependencies.get(analysis);
  if (fixed) return fixed;
  const refs = buildReadDependencies(analysis, params, tags);
  if (fixed !== undefined) return refs;
  if (scopeMayUseParameters(analysis)) {
    fixedReadDependencies.set(analysis, null);
    return refs;
  }
  for (const ref of refs) Object.freeze(ref);
  fixedReadDependencies.set(analysis, Object.freeze(refs));
  return refs;
}

function buildReadDependencies(analysis: SqlAnalysis, params: readonly unknown[], tags: readonly string[]): GenerationRef[] {
  const refs: GenerationRef[] = [{ add: ALL_COUNTER }];
  for (const tag of tags) refs.push({ add: tagCounter(tag) });
  for (const statement of analysis.statements) {
    for (const ref of statement.tables) {
      const scope = rowScopeOf(statement, ref.key, params, []);
      if (scope) {
        refs.push({ add: table(ref.name), sub: scoped(ref.name, scope.column) });
        for (const value of scope.values) refs.push({ add: scopedValue(ref.name, scope.column, value) });
        continue;
      }
      const columns = statement.columns[ref.key];
      if (columns && columns.length > 0 && !columns.includes('*') && statement.unresolvedColumns.length === 0) {
        refs.push({ add: rows(ref.name) });
        for (const col of columns) refs.push({ add: column(ref.name, col) });
        continue;
      }
      refs.push({ add: table(ref.name) });
    }
  }
  return refs;
}

function statementBumps(statement: StatementAnalysis, params: readonly unknown[] | undefined, out: Set<string>): void {
  if (statement.opaque) out.add(ALL_COUNTER);
  for (const ref of statement.tables) {
    if (!ref.written && statement.kind !== 'ddl') continue;
    out.add(table(ref.name));
    const written = statement.writtenColumns[ref.key] ?? ['*'];
    const isUpdate = statement.command === 'UpdateStmt';
    const isDelete = statement.command === 'DeleteStmt';
    if (isUpdate && written.length > 0 && !written.includes('*')) for (const col of written) out.add(column(ref.name, col));
    else out.add(rows(ref.name));
    if (!isUpdate && !isDelete) continue;
    // A delete removes rows but leaves the key of every other row as it was: its scope column may be any column.
    const scope = rowScopeOf(statement, ref.key, params, isDelete ? [] : written);
    if (!scope) continue;
    out.add(scoped(ref.name, scope.column));
    for (const value of scope.values) out.add(scopedValue(ref.name, scope.column, value));
  }
}

/** The counters a committed statement bumps; with no parameters known, `$n` scopes fall back to table level. */
export function writeBumps(analysis: SqlAnalysis, params?: readonly unknown[]): string[] {
  const out = new Set<string>();
  for (const statement of analysis.statements) statementBumps(statement, params, out);
  if (analysis.statements.length === 0) out.add(ALL_COUNTER);
  return [...out];
}
