import { bindingsOf, columnOf, columnRef, listOf } from '../../analyze/ast.js';
import type { Catalog } from '../../analyze/catalog.js';
import type { LatestRowShape } from '../../analyze/rules/latestRowWindow.js';
import type { AstNode } from '../../sql/parser.js';

/** The sort keys to add so that the window order picks exactly one row per group, or why none exists. */
export type TieBreaker = { ok: true; extra: AstNode[]; columns: string[]; table: string; alias: string } | { ok: false; reason: string };

/** The single table the ranked subquery reads, with its alias. */
export function rankedTable(shape: LatestRowShape): { table: string; alias: string } | undefined {
  const from = listOf(shape.inner, 'fromClause');
  if (from.length !== 1) return undefined;
  const [entry] = [...bindingsOf(from).entries()];
  return entry && entry[1] ? { alias: entry[0], table: entry[1] } : undefined;
}

/** Checks against the catalog that partition + order identify one row; else adds the primary key; else refuses. */
export function tieBreaker(shape: LatestRowShape, catalog: Catalog): TieBreaker {
  const source = rankedTable(shape);
  if (!source || !catalog.table(source.table)) return { ok: false, reason: 'the ranked subquery does not read exactly one catalogued table' };
  const keyColumns = [...shape.partition, ...shape.order.map((sort) => (sort as { SortBy?: { node?: unknown } }).SortBy?.node)]
    .map(columnOf)
    .filter((column) => column && (column.qualifier === null || column.qualifier === source.alias))
    .map((column) => column!.column);
  const notNullKeys = (catalog.table(source.table)?.uniqueKeys ?? []).filter((key) => key.every((column) => catalog.isNotNull(source.table, column)));
  if (notNullKeys.some((key) => key.every((column) => keyColumns.includes(column)))) return { ok: true, extra: [], columns: [], table: source.table, alias: source.alias };
  const primary = catalog.table(source.table)?.primaryKey;
  if (!primary) return { ok: false, reason: `no unique tie-breaker: ${source.table} has no primary key and the window order is not unique` };
  const extra = primary.map((column) => ({ SortBy: { node: columnRef(source.alias, column), sortby_dir: 'SORTBY_DESC', sortby_nulls: 'SORTBY_NULLS_DEFAULT' } }));
  return { ok: true, extra, columns: primary, table: source.table, alias: source.alias };
}
