import type { ColumnStats, TableStats } from './catalog.js';
import type { IndexCandidate } from './indexCandidate.js';

const PAGE_BYTES = 8192;
/** Page header (24) + B-tree special space (16). */
const PAGE_OVERHEAD = 40;
/** CREATE INDEX fills leaf pages to the default fillfactor of 90 %. */
const LEAF_FILL = 0.9;
const TUPLE_HEADER = 8;
const LINE_POINTER = 4;
const HEAP_TID = 6;
const MAXALIGN = 8;
/** Internal levels, meta page and rounding: about 1 % over the leaves for a B-tree. */
const UPPER_LEVELS = 1.01;
/** Types whose equality is not image equality: B-tree deduplication is off for them. */
const NO_DEDUP = /^(numeric|real|double precision|jsonb|json|float)/;

function align(bytes: number): number {
  return Math.ceil(bytes / MAXALIGN) * MAXALIGN;
}

function widthOf(column: ColumnStats | undefined): number {
  return column ? Math.max(1, column.avgWidth) : 16;
}

/** Distinct key combinations, bounded by the entry count (product of per-column distinct counts). */
function distinctKeys(candidate: IndexCandidate, stats: TableStats, entries: number): number | null {
  let product = 1;
  for (const key of candidate.keys) {
    if (key.expression) return null;
    const distinct = stats.columns.get(key.text)?.distinct;
    if (distinct === null || distinct === undefined) return null;
    product *= Math.max(1, distinct);
  }
  return Math.min(entries, product);
}

function dedupApplies(candidate: IndexCandidate, stats: TableStats): boolean {
  if (candidate.include.length > 0) return false;
  return candidate.keys.every((key) => !key.expression && !NO_DEDUP.test(stats.columns.get(key.text)?.type ?? 'numeric'));
}

/**
 * The on-disk size of a B-tree built by CREATE INDEX, from statistics: aligned entry width,
 * fillfactor, deduplicated posting lists for repeated keys (PostgreSQL 13+). HypoPG's own estimate
 * ignores deduplication and is off by 2–3× on such keys, so the budget uses this one.
 */
export function estimateBtreeBytes(candidate: IndexCandidate, stats: TableStats, entrySelectivity: number): number {
  const entries = Math.max(1, stats.rows * entrySelectivity);
  let keyWidth = 0;
  for (const key of candidate.keys) keyWidth += key.expression ? 16 : widthOf(stats.columns.get(key.text));
  let includeWidth = 0;
  for (const column of candidate.include) includeWidth += widthOf(stats.columns.get(column));
  const tupleBytes = align(TUPLE_HEADER + keyWidth + includeWidth) + LINE_POINTER;
  const usable = (PAGE_BYTES - PAGE_OVERHEAD) * LEAF_FILL;
  let leafBytes = entries * tupleBytes;
  const distinct = distinctKeys(candidate, stats, entries);
  if (dedupApplies(candidate, stats) && distinct !== null && entries / distinct >= 2) {
    // One posting-list tuple per distinct key (split when it outgrows a third of a page), 6 bytes per heap TID.
    const perKey = entries / distinct;
    const maxPerTuple = Math.floor((usable / 3 - TUPLE_HEADER - keyWidth) / HEAP_TID);
    const tuplesPerKey = Math.ceil(perKey / Math.max(1, maxPerTuple));
    leafBytes = distinct * (tuplesPerKey * (align(TUPLE_HEADER + keyWidth) + LINE_POINTER) + align(perKey * HEAP_TID));
  }
  const leafPages = Math.ceil(leafBytes / usable);
  return Math.ceil(leafPages * UPPER_LEVELS + 1) * PAGE_BYTES;
}

/** A rough GIN size: one posting entry per row and item (about three per trigram-indexed character). */
export function estimateGinBytes(candidate: IndexCandidate, stats: TableStats, entrySelectivity: number): number {
  const column = stats.columns.get(candidate.keys[0]?.text ?? '');
  const itemsPerRow = candidate.keys[0]?.opclass === 'gin_trgm_ops' ? widthOf(column) : Math.max(4, widthOf(column) / 8);
  const bytes = stats.rows * entrySelectivity * itemsPerRow * 3;
  return Math.ceil(bytes / PAGE_BYTES + 2) * PAGE_BYTES;
}

/** The estimated built size of a candidate in bytes. */
export function estimateIndexBytes(candidate: IndexCandidate, stats: TableStats, entrySelectivity: number): number {
  return candidate.method === 'gin' ? estimateGinBytes(candidate, stats, entrySelectivity) : estimateBtreeBytes(candidate, stats, entrySelectivity);
}
