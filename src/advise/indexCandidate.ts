import { createHash } from 'node:crypto';

/** One key of an index: a column or an expression, ascending or descending. */
export interface IndexKey {
  /** A column name, or an expression (already alias-free SQL) when `expression` is true. */
  text: string;
  expression: boolean;
  descending: boolean;
  /** An operator class (`gin_trgm_ops`, `jsonb_path_ops`), or null for the default. */
  opclass: string | null;
}

/** An index the advisor may propose; never created until applied. */
export interface IndexCandidate {
  table: string;
  method: 'btree' | 'gin';
  keys: IndexKey[];
  /** Non-key columns stored for index-only scans (B-tree INCLUDE). */
  include: string[];
  /** Partial-index predicate (alias-free SQL), or null. */
  where: string | null;
  /** Why it was generated (`equality → range`, `window partition`, …). */
  origin: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

/** Quotes an identifier only when PostgreSQL needs it. */
export function quoteIdentifier(name: string): string {
  return IDENTIFIER.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** Quotes `schema.table` part by part. */
export function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdentifier).join('.');
}

function keyText(key: IndexKey): string {
  const base = key.expression ? `(${key.text})` : quoteIdentifier(key.text);
  return `${base}${key.opclass ? ` ${key.opclass}` : ''}${key.descending ? ' DESC' : ''}`;
}

/** A stable identity of a candidate: equal candidates have equal signatures (dedup, deterministic order). */
export function candidateSignature(candidate: IndexCandidate): string {
  return `${candidate.table}|${candidate.method}|${candidate.keys.map(keyText).join(',')}|${candidate.include.join(',')}|${candidate.where ?? ''}`;
}

/** A readable, deterministic index name of at most 63 bytes. */
export function candidateName(candidate: IndexCandidate): string {
  const table = candidate.table.split('.').pop()!;
  const parts = candidate.keys.map((key) => (key.expression ? 'expr' : key.text));
  const suffix = [candidate.method === 'gin' ? 'gin' : '', candidate.include.length > 0 ? 'cov' : '', candidate.where ? 'part' : ''].filter(Boolean);
  const name = ['qopt', table, ...parts, ...suffix].join('_').toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (name.length <= 55) return name;
  const hash = createHash('sha1').update(candidateSignature(candidate)).digest('hex').slice(0, 8);
  return `${name.slice(0, 54)}_${hash}`;
}

/** The body after `CREATE INDEX [CONCURRENTLY] name`: `ON table USING … (…) INCLUDE (…) WHERE …`. */
export function indexBody(candidate: IndexCandidate): string {
  const using = candidate.method === 'btree' ? '' : ` USING ${candidate.method}`;
  const include = candidate.include.length > 0 ? ` INCLUDE (${candidate.include.map(quoteIdentifier).join(', ')})` : '';
  const where = candidate.where ? ` WHERE ${candidate.where}` : '';
  return `ON ${quoteQualified(candidate.table)}${using} (${candidate.keys.map(keyText).join(', ')})${include}${where}`;
}

/** `CREATE INDEX [CONCURRENTLY] name ON …` for a candidate. */
export function createIndexStatement(candidate: IndexCandidate, name: string, concurrently: boolean): string {
  return `CREATE INDEX ${concurrently ? 'CONCURRENTLY ' : ''}${quoteIdentifier(name)} ${indexBody(candidate)}`;
}

/** A plain column key. */
export function columnKey(column: string, descending = false): IndexKey {
  return { text: column, expression: false, descending, opclass: null };
}
