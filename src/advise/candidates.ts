import type { TableAccess } from './queryShape.js';
import { candidateSignature, columnKey } from './indexCandidate.js';
import type { IndexCandidate, IndexKey } from './indexCandidate.js';

/** Limits of candidate generation. */
export interface CandidateOptions {
  /** Key columns of an ordinary composite (equality → range → sort). */
  maxKeyColumns: number;
  /** Key columns of a "latest row per key" window index (equality + partition + order). */
  maxWindowKeyColumns: number;
  /** Most columns an INCLUDE list may carry. */
  maxIncludeColumns: number;
  /** Whether pg_trgm is installed (trigram GIN candidates). */
  trigram: boolean;
  /** Columns per table known to exist; candidates naming others are dropped. */
  columnsOf(table: string): ReadonlySet<string> | undefined;
}

function dedupeKeys(keys: IndexKey[]): IndexKey[] {
  const seen = new Set<string>();
  return keys.filter((key) => {
    if (seen.has(key.text)) return false;
    seen.add(key.text);
    return true;
  });
}

class CandidateSet {
  private readonly bySignature = new Map<string, IndexCandidate>();

  add(candidate: IndexCandidate): void {
    if (candidate.keys.length === 0) return;
    const signature = candidateSignature(candidate);
    if (!this.bySignature.has(signature)) this.bySignature.set(signature, candidate);
  }

  sorted(): IndexCandidate[] {
    return [...this.bySignature.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, candidate]) => candidate);
  }
}

function btree(table: string, keys: IndexKey[], origin: string, limit = Number.POSITIVE_INFINITY): IndexCandidate {
  return { table, method: 'btree', keys: dedupeKeys(keys).slice(0, limit), include: [], where: null, origin };
}

/** The B-tree key shapes of one table access: equality → range → sort, joins, GROUP BY, windows. */
function keyShapes(access: TableAccess, options: CandidateOptions): IndexCandidate[] {
  const { table } = access;
  const limit = options.maxKeyColumns;
  const equality = access.equality.map((column) => columnKey(column));
  const shapes: IndexCandidate[] = [];
  if (equality.length > 0) shapes.push(btree(table, equality, 'equality', limit));
  for (const column of access.range) shapes.push(btree(table, [...equality, columnKey(column)], 'equality → range', limit));
  const sortColumns = access.sort.filter((key) => !access.equality.includes(key.column));
  if (sortColumns.length > 0) {
    shapes.push(btree(table, [...equality, ...sortColumns.map((key) => columnKey(key.column, key.descending))], 'equality → sort', limit));
  }
  for (const column of access.joinColumns) {
    shapes.push(btree(table, [columnKey(column)], 'join'));
    if (equality.length > 0) shapes.push(btree(table, [...equality, columnKey(column)], 'equality → join', limit));
  }
  if (access.groupBy.length > 0) shapes.push(btree(table, [...equality, ...access.groupBy.map((column) => columnKey(column))], 'equality → group by', limit));
  for (const window of access.windows) {
    const keys = [...equality, ...window.partition.map((column) => columnKey(column)), ...window.order.map((key) => columnKey(key.column, key.descending))];
    shapes.push(btree(table, keys, 'equality → window partition → window order', options.maxWindowKeyColumns));
  }
  for (const expression of access.expressions) {
    shapes.push(btree(table, [{ text: expression, expression: true, descending: false, opclass: null }, ...equality], 'expression equality', limit));
  }
  if (equality.length > 1) for (const key of equality) shapes.push(btree(table, [key], 'single equality column', limit));
  return shapes;
}

function btreeWithLimit(shape: IndexCandidate, limit: number): IndexCandidate {
  return { ...shape, keys: shape.keys.slice(0, limit) };
}

/** A covering variant: the access's other read columns as INCLUDE, when they are few and known. */
function covering(shape: IndexCandidate, access: TableAccess, options: CandidateOptions): IndexCandidate | null {
  if (access.readColumns.includes('*')) return null;
  const keyColumns = new Set(shape.keys.map((key) => key.text));
  const extra = access.readColumns.filter((column) => !keyColumns.has(column)).sort();
  if (extra.length === 0 || extra.length > options.maxIncludeColumns) return null;
  return { ...shape, include: extra, origin: `${shape.origin} + INCLUDE for index-only scans` };
}

/** A partial variant: the access's constant conditions as the index predicate, their columns out of the key. */
function partial(shape: IndexCandidate, access: TableAccess): IndexCandidate | null {
  if (access.constantConditions.length === 0) return null;
  const keys = shape.keys.filter((key) => key.expression || !access.constantColumns.includes(key.text));
  if (keys.length === 0) return null;
  const where = [...access.constantConditions].sort().map((condition) => (access.constantConditions.length > 1 ? `(${condition})` : condition)).join(' AND ');
  return { ...shape, keys, where, origin: `${shape.origin}, partial on the constant predicate` };
}

function ginCandidates(access: TableAccess, options: CandidateOptions): IndexCandidate[] {
  const gin: IndexCandidate[] = [];
  if (options.trigram) {
    for (const column of access.trigram) {
      gin.push({ table: access.table, method: 'gin', keys: [{ text: column, expression: false, descending: false, opclass: 'gin_trgm_ops' }], include: [], where: null, origin: "LIKE '%…%' (trigram)" });
    }
  }
  for (const column of access.jsonContainment) {
    gin.push({ table: access.table, method: 'gin', keys: [{ text: column, expression: false, descending: false, opclass: null }], include: [], where: null, origin: 'jsonb containment' });
  }
  return gin;
}

function knownColumns(candidate: IndexCandidate, options: CandidateOptions): boolean {
  const columns = options.columnsOf(candidate.table);
  if (!columns) return false;
  return candidate.keys.every((key) => key.expression || columns.has(key.text)) && candidate.include.every((column) => columns.has(column));
}

/** Every candidate index for a set of table accesses, deduplicated and in a deterministic order. */
export function generateCandidates(accesses: readonly TableAccess[], options: CandidateOptions): IndexCandidate[] {
  const set = new CandidateSet();
  for (const access of accesses) {
    for (const shape of keyShapes(access, options)) {
      const bounded = shape.origin.includes('window') ? shape : btreeWithLimit(shape, options.maxKeyColumns);
      set.add(bounded);
      const cover = covering(bounded, access, options);
      if (cover) set.add(cover);
      const part = partial(bounded, access);
      if (part) {
        set.add(part);
        const partCover = covering(part, access, options);
        if (partCover) set.add(partCover);
      }
    }
    for (const candidate of ginCandidates(access, options)) set.add(candidate);
  }
  return set.sorted().filter((candidate) => knownColumns(candidate, options));
}
