import type { DriverSession } from '../db/driver.js';

/** A column of a live table, as the catalog describes it. */
export interface CatalogColumn {
  name: string;
  /** `format_type` of the column, e.g. `bigint`, `timestamp with time zone`. */
  type: string;
  notNull: boolean;
}

/** An index of a live table: its key columns in order (null for an expression key), partial or not. */
export interface CatalogIndex {
  name: string;
  columns: Array<string | null>;
  /** Per key column, whether it is stored DESC (`pg_index.indoption`); absent when unknown. */
  descending?: boolean[];
  unique: boolean;
  partial: boolean;
}

/** What qopt knows of one table from the live catalog: the facts rewrite preconditions rest on. */
export interface CatalogTable {
  name: string;
  schema: string;
  columns: CatalogColumn[];
  primaryKey: string[] | null;
  /** Primary key and every unique constraint or unique, non-partial index. */
  uniqueKeys: string[][];
  indexes: CatalogIndex[];
  /** The planner's row estimate (`pg_class.reltuples`; -1 when never analyzed). */
  estimatedRows: number;
}

/** The catalog facts of the tables a statement names, by unqualified table name. */
export class Catalog {
  constructor(readonly tables: ReadonlyMap<string, CatalogTable>) {}

  /** A table by (unqualified) name. */
  table(name: string): CatalogTable | undefined {
    return this.tables.get(name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : name);
  }

  /** A column of a table. */
  column(table: string, column: string): CatalogColumn | undefined {
    return this.table(table)?.columns.find((candidate) => candidate.name === column);
  }

  /** True when the column is declared NOT NULL (false when unknown). */
  isNotNull(table: string, column: string): boolean {
    return this.column(table, column)?.notNull ?? false;
  }

  /** True when `columns` contain a unique key of the table (so at most one row matches fixed values of them). */
  coversUniqueKey(table: string, columns: Iterable<string>): boolean {
    const given = new Set(columns);
    return (this.table(table)?.uniqueKeys ?? []).some((key) => key.every((column) => given.has(column)));
  }

  /** True when some index has this column as its first key. */
  isIndexLeadingColumn(table: string, column: string): boolean {
    return (this.table(table)?.indexes ?? []).some((index) => index.columns[0] === column);
  }

  /** An empty catalog: rules that need catalog facts stay silent or assume the worst. */
  static empty(): Catalog {
    return new Catalog(new Map());
  }
}

interface CatalogRow {
  schema: string;
  name: string;
  reltuples: number;
  columns: CatalogColumn[];
  indexes: Array<CatalogIndex & { primary: boolean }>;
}

const CATALOG_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS reltuples,
  (SELECT coalesce(json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull) ORDER BY a.attnum), '[]')
     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
  (SELECT coalesce(json_agg(json_build_object(
      'name', ic.relname, 'unique', i.indisunique, 'primary', i.indisprimary, 'partial', i.indpred IS NOT NULL,
      'columns', (SELECT json_agg((SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = k.attnum AND k.attnum > 0) ORDER BY k.ord)
                  FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)),
      'descending', (SELECT json_agg((i.indoption[k.ord - 1] & 1) = 1 ORDER BY k.ord)
                  FROM generate_series(1, i.indnkeyatts) AS k(ord)))), '[]')
     FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND i.indisvalid) AS indexes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass($1)`;

function tableOf(row: CatalogRow): CatalogTable {
  const parse = <T>(value: unknown): T => (typeof value === 'string' ? (JSON.parse(value) as T) : (value as T));
  const indexes = parse<Array<CatalogIndex & { primary: boolean }>>(row.indexes);
  const primary = indexes.find((index) => index.primary);
  const uniqueKeys = indexes
    .filter((index) => index.unique && !index.partial && index.columns.every((column) => column !== null))
    .map((index) => index.columns as string[]);
  return {
    name: row.name,
    schema: row.schema,
    columns: parse<CatalogColumn[]>(row.columns),
    primaryKey: primary ? (primary.columns as string[]) : null,
    uniqueKeys,
    indexes: indexes.map(({ primary: _primary, ...index }) => index),
    estimatedRows: Number(row.reltuples),
  };
}

/** Reads the catalog facts of the named tables (names the search path does not resolve are skipped). */
export async function loadCatalog(session: DriverSession, tableNames: Iterable<string>): Promise<Catalog> {
  const tables = new Map<string, CatalogTable>();
  for (const name of new Set(tableNames)) {
    const result = await session.query<CatalogRow>(CATALOG_SQL, [name]);
    const row = result.rows[0];
    if (row) tables.set(row.name, tableOf(row));
  }
  return new Catalog(tables);
}
