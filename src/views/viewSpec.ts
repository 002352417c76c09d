/** A materialized view qopt can create for a hot query, and how reads use it. */
export interface MaterializedViewSpec {
  name: string;
  /** The SELECT the view stores. */
  definition: string;
  /** Columns of the unique index REFRESH … CONCURRENTLY needs. */
  uniqueKey: string[];
  /** Base tables: a committed write to one of them makes the view stale. */
  tables: string[];
  /** The hot query, answered from the base tables (the fallback). */
  baseSql: string;
  /** The same query answered from the view, with the same parameters. */
  viewSql: string;
  /** Past this time with unrefreshed writes, reads fall back to `baseSql`. */
  maxStalenessMs: number;
  /** Why it was proposed. */
  reason: string;
}
