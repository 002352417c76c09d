import type { DriverSession } from '../../db/driver.js';

/** An index as the redundancy rules compare it. */
export interface IndexDescription {
  name: string;
  table: string;
  method: string;
  /** Per key: attribute number (0 for an expression), opclass, collation, option (DESC / NULLS FIRST bits). */
  keys: Array<{ attnum: number; opclass: number; collation: number; option: number }>;
  include: number[];
  expressions: string | null;
  predicate: string | null;
  unique: boolean;
  /** Backs a PRIMARY KEY, UNIQUE or EXCLUDE constraint: never dropped by the advisor. */
  constraint: boolean;
  valid: boolean;
  bytes: number;
  definition: string;
}

/** Why one index is not needed: `coveredBy` serves everything it does. */
export interface Redundancy {
  index: IndexDescription;
  coveredBy: IndexDescription;
  kind: 'duplicate' | 'prefix';
}

const INDEXES_SQL = `
  SELECT c.oid::regclass::text AS name, i.indrelid::regclass::text AS "table", am.amname AS method,
         i.indkey::text AS indkey, i.indclass::text AS indclass, i.indcollation::text AS indcollation,
         i.indoption::text AS indoption, i.indnkeyatts AS nkeys,
         pg_get_expr(i.indexprs, i.indrelid) AS expressions, pg_get_expr(i.indpred, i.indrelid) AS predicate,
         i.indisunique AS unique, i.indisvalid AS valid,
         EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid AND k.contype IN ('p', 'u', 'x')) AS "constraint",
         pg_relation_size(c.oid)::text AS bytes, pg_get_indexdef(c.oid) AS definition
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_am am ON am.oid = c.relam
  WHERE t.relnamespace::regnamespace::text = ANY($1)
  ORDER BY 2, 1`;

function numbers(text: string): number[] {
  return text.trim() === '' ? [] : text.trim().split(/\s+/).map(Number);
}

/** The indexes of the tables in the given schemas. */
export async function readIndexes(session: DriverSession, schemas: readonly string[]): Promise<IndexDescription[]> {
  const result = await session.query<{
    name: string; table: string; method: string; indkey: string; indclass: string; indcollation: string; indoption: string; nkeys: number;
    expressions: string | null; predicate: string | null; unique: boolean; valid: boolean; constraint: boolean; bytes: string; definition: string;
  }>(INDEXES_SQL, [schemas]);
  return result.rows.map((row) => {
    const attnums = numbers(row.indkey);
    const opclasses = numbers(row.indclass);
    const collations = numbers(row.indcollation);
    const options = numbers(row.indoption);
    return {
      name: row.name,
      table: row.table,
      method: row.method,
      keys: attnums.slice(0, row.nkeys).map((attnum, position) => ({ attnum, opclass: opclasses[position] ?? 0, collation: collations[position] ?? 0, option: options[position] ?? 0 })),
      include: attnums.slice(row.nkeys),
      expressions: row.expressions,
      predicate: row.predicate,
      unique: row.unique,
      constraint: row.constraint,
      valid: row.valid,
      bytes: Number(row.bytes),
      definition: row.definition,
    };
  });
}

function sameKey(a: IndexDescription['keys'][number], b: IndexDescription['keys'][number]): boolean {
  return a.attnum === b.attnum && a.opclass === b.opclass && a.collation === b.collation && a.option === b.option;
}

function isKeyPrefix(a: IndexDescription, b: IndexDescription): boolean {
  return a.keys.length <= b.keys.length && a.keys.every((key, position) => sameKey(key, b.keys[position]!));
}

/** Every column `b` can return in an index-only scan. */
function covers(b: IndexDescription, columns: number[]): boolean {
  const available = new Set([...b.keys.map((key) => key.attnum), ...b.include]);
  return columns.every((column) => available.has(column));
}

/**
 * Whether `a` is redundant given `b`: same table, access method, predicate and expressions;
 * `a`'s keys a prefix of `b`'s with the same opclass, collation and direction; `a`'s INCLUDE
 * columns available in `b`; and `a` enforces no uniqueness `b` does not enforce identically.
 */
export function redundantTo(a: IndexDescription, b: IndexDescription): Redundancy['kind'] | null {
  if (a.name === b.name || a.table !== b.table || a.method !== b.method || !b.valid) return null;
  if (a.predicate !== b.predicate || a.expressions !== b.expressions) return null;
  if (a.method !== 'btree' && (a.keys.length !== b.keys.length || !isKeyPrefix(a, b))) return null;
  if (!isKeyPrefix(a, b) || !covers(b, a.include)) return null;
  if (a.constraint) return null;
  if (a.unique && !(b.unique && b.keys.length === a.keys.length)) return null;
  const exact = a.keys.length === b.keys.length && a.include.length === b.include.length && covers(a, b.include);
  if (exact) {
    // Of two identical indexes keep the one that enforces more (unique, constraint), else the first by name.
    if (b.unique !== a.unique) return b.unique ? 'duplicate' : null;
    if (b.constraint) return 'duplicate';
    return a.name > b.name ? 'duplicate' : null;
  }
  return 'prefix';
}

/** Every redundant index with the index that covers it (one reason per redundant index). */
export function findRedundantIndexes(indexes: readonly IndexDescription[]): Redundancy[] {
  const found: Redundancy[] = [];
  for (const index of indexes) {
    for (const other of indexes) {
      const kind = redundantTo(index, other);
      if (kind) {
        found.push({ index, coveredBy: other, kind });
        break;
      }
    }
  }
  return found;
}
