import { bodyOf, columnOf, conjuncts, operatorOf, walk } from '../analyze/ast.js';
import type { Catalog, CatalogIndex } from '../analyze/catalog.js';
import type { LatestRowShape } from '../analyze/rules/latestRowWindow.js';
import { columnKey } from '../advise/indexCandidate.js';
import type { IndexCandidate, IndexKey } from '../advise/indexCandidate.js';
import type { TieBreaker } from './rules/tieBreaker.js';

type Breaker = Extract<TieBreaker, { ok: true }>;

/** True for `$n`, a constant, or either behind a cast: a value fixed for the whole statement. */
function isFixedValue(node: unknown): boolean {
  const inner = bodyOf(node, 'TypeCast')?.arg ?? node;
  return bodyOf(inner, 'ParamRef') !== undefined || bodyOf(inner, 'A_Const') !== undefined;
}

/** The ranked table's column behind a reference, or undefined when it names another table or is not a column. */
function ownColumn(node: unknown, breaker: Breaker): string | undefined {
  const column = columnOf(node);
  if (!column || column.column === '*' || (column.qualifier !== null && column.qualifier !== breaker.alias)) return undefined;
  return column.column;
}

/** Columns the ranked subquery fixes with `column = $n` (or a constant): the index's leading keys. */
function equalityColumns(shape: LatestRowShape, breaker: Breaker): string[] {
  const columns: string[] = [];
  for (const part of conjuncts(shape.inner.whereClause)) {
    const expr = bodyOf(part, 'A_Expr');
    if (!expr || expr.kind !== 'AEXPR_OP' || operatorOf(expr) !== '=') continue;
    const column = ownColumn(expr.lexpr, breaker);
    if (column && isFixedValue(expr.rexpr) && !columns.includes(column)) columns.push(column);
  }
  return columns;
}

/** The sort keys of the window order (plus tie-breaker), or undefined when one is not a plain column in default NULLS order. */
function orderKeys(shape: LatestRowShape, breaker: Breaker): IndexKey[] | undefined {
  const keys: IndexKey[] = [];
  for (const sort of [...shape.order, ...breaker.extra]) {
    const body = bodyOf(sort, 'SortBy');
    const column = ownColumn(body?.node, breaker);
    if (!body || !column || body.sortby_nulls !== 'SORTBY_NULLS_DEFAULT') return undefined;
    keys.push(columnKey(column, body.sortby_dir === 'SORTBY_DESC'));
  }
  return keys;
}

/** True when an existing index starts with the equality columns (any order), then exactly `ordered`, in one scan direction. */
function servedBy(index: CatalogIndex, equality: readonly string[], ordered: readonly IndexKey[]): boolean {
  if (index.partial || !index.descending || index.columns.length < equality.length + ordered.length) return false;
  const prefix = index.columns.slice(0, equality.length);
  if (!equality.every((column) => prefix.includes(column))) return false;
  const rest = ordered.map((key, position) => ({ key, column: index.columns[equality.length + position], descending: index.descending![equality.length + position] }));
  if (rest.some(({ key, column }) => column !== key.text)) return false;
  // A B-tree scans backwards as cheaply as forwards: every direction equal, or every direction flipped.
  return rest.every(({ key, descending }) => descending === key.descending) || rest.every(({ key, descending }) => descending !== key.descending);
}

/**
 * The index that serves a latest-row rewrite (DISTINCT ON or LATERAL … LIMIT 1) without a sort: the columns the
 * ranked subquery fixes by equality, the partition keys, the window order and its tie-breaker, with the other
 * columns the statement reads as INCLUDE (an index-only scan). Null when an existing index already has these keys,
 * or when a key is not a plain column.
 */
export function latestRowIndex(shape: LatestRowShape, breaker: Breaker, catalog: Catalog): IndexCandidate | null {
  const table = catalog.table(breaker.table);
  if (!table) return null;
  const partition = shape.partition.map((node) => ownColumn(node, breaker));
  const order = orderKeys(shape, breaker);
  if (!order || partition.some((column) => column === undefined)) return null;
  const equality = equalityColumns(shape, breaker).filter((column) => !partition.includes(column));
  const ordered = [...(partition as string[]).map((column) => columnKey(column)), ...order];
  if (table.indexes.some((index) => servedBy(index, equality, ordered))) return null;
  const keyColumns = new Set([...equality, ...ordered.map((key) => key.text)]);
  const tableColumns = new Set(table.columns.map((column) => column.name));
  const read = new Set<string>();
  for (const node of walk(shape.outer)) {
    if (node.type !== 'ColumnRef') continue;
    const column = columnOf({ ColumnRef: node.body })?.column;
    if (column && tableColumns.has(column) && !keyColumns.has(column)) read.add(column);
  }
  const include = table.columns.map((column) => column.name).filter((column) => read.has(column));
  return {
    table: breaker.table,
    method: 'btree',
    keys: [...equality.map((column) => columnKey(column)), ...ordered],
    include,
    where: null,
    origin: 'latest-row rewrite: equality → partition → version order → tie-breaker',
  };
}
