import type { DriverSession } from '../db/driver.js';

/** What the advisor knows of one column from pg_attribute and pg_stats. */
export interface ColumnStats {
  name: string;
  type: string;
  /** Average stored width in bytes (pg_stats.avg_width, else the type's length, else 32). */
  avgWidth: number;
  /** Distinct values (pg_stats.n_distinct resolved against the row count), or null when unknown. */
  distinct: number | null;
  nullFraction: number;
}

/** One table's size, statistics and write counters. */
export interface TableStats {
  /** The name as the workload writes it. */
  name: string;
  oid: number;
  rows: number;
  pages: number;
  columns: Map<string, ColumnStats>;
  /** Existing indexes, as signatures comparable with `existingSignature`. */
  existingIndexes: Array<{ name: string; keys: string[]; where: string | null; definition: string }>;
  /** Rows inserted + updated + deleted since the counters were reset (pg_stat_user_tables). */
  writeCounter: number;
}

const COLUMN_SQL = `
  SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attlen AS len,
         s.avg_width, s.n_distinct, s.null_frac
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
  WHERE c.oid = $1
  ORDER BY a.attnum`;

const INDEX_SQL = `
  SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition,
         ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) AS k) AS keys,
         pg_get_expr(i.indpred, i.indrelid) AS predicate
  FROM pg_index i WHERE i.indrelid = $1::regclass ORDER BY 1`;

/** Reads the statistics of a table, or null when the name does not resolve on this connection. */
export async function readTableStats(session: DriverSession, name: string): Promise<TableStats | null> {
  const found = await session.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [name]);
  const oid = found.rows[0]?.oid;
  if (oid === null || oid === undefined) return null;
  const table = await session.query<{ rows: number; pages: number; writes: string | null }>(
    `SELECT greatest(c.reltuples, 0)::float8 AS rows, c.relpages::float8 AS pages,
            (s.n_tup_ins + s.n_tup_upd + s.n_tup_del)::text AS writes
     FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = $1`,
    [oid],
  );
  const rows = Number(table.rows[0]?.rows ?? 0);
  const columns = new Map<string, ColumnStats>();
  const columnRows = await session.query<{ name: string; type: string; len: number; avg_width: number | null; n_distinct: number | null; null_frac: number | null }>(COLUMN_SQL, [oid]);
  for (const column of columnRows.rows) {
    const distinct = column.n_distinct === null ? null : column.n_distinct < 0 ? -column.n_distinct * rows : column.n_distinct;
    columns.set(column.name, {
      name: column.name,
      type: column.type,
      avgWidth: column.avg_width ?? (column.len > 0 ? column.len : 32),
      distinct,
      nullFraction: column.null_frac ?? 0,
    });
  }
  const indexes = await session.query<{ name: string; definition: string; keys: string[]; predicate: string | null }>(INDEX_SQL, [oid]);
  return {
    name,
    oid,
    rows,
    pages: Number(table.rows[0]?.pages ?? 0),
    columns,
    existingIndexes: indexes.rows.map((index) => ({ name: index.name, keys: index.keys, where: index.predicate, definition: index.definition })),
    writeCounter: Number(table.rows[0]?.writes ?? 0),
  };
}

/** Write counters of every user table (pg_stat_user_tables), to measure writes over a window. */
export async function readWriteCounters(session: DriverSession): Promise<Map<string, number>> {
  const result = await session.query<{ oid: number; writes: string }>(
    'SELECT relid::int8 AS oid, (n_tup_ins + n_tup_upd + n_tup_del)::text AS writes FROM pg_stat_user_tables',
  );
  return new Map(result.rows.map((row) => [String(row.oid), Number(row.writes)]));
}
