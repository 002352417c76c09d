import DataLoader from 'dataloader';
import type { QueryResultSet } from '../db/driver.js';

/** Options of `qo.loader(table, keyColumn, options)`. */
export interface TableLoaderOptions {
  /** Columns to select (default `*`). */
  columns?: readonly string[];
  /** Extra equality conditions every load shares, e.g. `{ date: '2024-01-02' }`. */
  where?: Readonly<Record<string, unknown>>;
  /** Largest number of keys in one query (default 1000). */
  maxBatchSize?: number;
}

/** Runs one statement; the optimizer's `query`, so batches are cached, monitored and scheduled. */
export type StatementRunner = (sql: string, params: readonly unknown[]) => Promise<QueryResultSet<Record<string, unknown>>>;

const DEFAULT_MAX_BATCH = 1000;

/** A batching loader: `load(key)` gives the rows whose key column equals `key`. */
export type TableLoader = DataLoader<unknown, Array<Record<string, unknown>>>;

/** Quotes an identifier, or a dotted schema.table, for PostgreSQL. */
export function quoteIdentifier(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}

/** The SQL of one batch: `= ANY($1)` over the keys plus the shared conditions as $2, $3, … */
export function batchStatement(table: string, keyColumn: string, options: TableLoaderOptions): { sql: string; whereValues: unknown[] } {
  const selected = options.columns?.length ? [...new Set([keyColumn, ...options.columns])] : undefined;
  const columns = selected ? selected.map(quoteIdentifier).join(', ') : '*';
  const conditions = [`${quoteIdentifier(keyColumn)} = ANY($1)`];
  const whereValues: unknown[] = [];
  for (const [column, value] of Object.entries(options.where ?? {})) {
    whereValues.push(value);
    conditions.push(`${quoteIdentifier(column)} = $${whereValues.length + 1}`);
  }
  return { sql: `SELECT ${columns} FROM ${quoteIdentifier(table)} WHERE ${conditions.join(' AND ')}`, whereValues };
}

/**
 * A dataloader over one table: every `load(key)` made in the same tick becomes one `= ANY($1)`
 * query; `load` gives the matching rows (an empty array when none). Its cache lives for one batch
 * only, so a later load always sees committed data: it batches, it does not cache.
 */
export function createTableLoader(
  run: StatementRunner,
  table: string,
  keyColumn: string,
  options: TableLoaderOptions = {},
): TableLoader {
  const { sql, whereValues } = batchStatement(table, keyColumn, options);
  const loader: TableLoader = new DataLoader(
    async (keys) => {
      loader.clearAll();
      const result = await run(sql, [keys, ...whereValues]);
      // Keys are compared as text: node-postgres returns int8 as a string while callers pass numbers.
      const byKey = new Map<string, Array<Record<string, unknown>>>();
      for (const row of result.rows) {
        const key = String(row[keyColumn]);
        const rows = byKey.get(key);
        if (rows) rows.push(row);
        else byKey.set(key, [row]);
      }
      return keys.map((key) => byKey.get(String(key)) ?? []);
    },
    { maxBatchSize: options.maxBatchSize ?? DEFAULT_MAX_BATCH, cacheKeyFn: (key) => String(key) },
  );
  return loader;
}
