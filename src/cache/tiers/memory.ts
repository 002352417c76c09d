import { LRUCache } from 'lru-cache';
import type { QueryResultSet } from '../../db/driver.js';
import type { GenerationRef } from '../dependencies.js';

/** An L1 entry: a frozen result handed out as is. */
export interface MemoryEntry {
  /** The entry's full key (the L1 map uses a short one): what key patterns match. */
  fullKey: string;
  result: QueryResultSet;
  refs: readonly GenerationRef[];
  snapshot: readonly number[];
  expiresAt: number;
  staleUntil: number;
  costMs: number;
  bytes: number;
}

/** Counters of one tier. */
export interface TierStats {
  hits: number;
  misses: number;
  stores: number;
  evictions: number;
  errors: number;
  bytes: number;
  entries: number;
}

/** A fresh set of tier counters. */
export function emptyTierStats(): TierStats {
  return { hits: 0, misses: 0, stores: 0, evictions: 0, errors: 0, bytes: 0, entries: 0 };
}

/**
 * L1: in-process, bounded in bytes, least recently used goes first. A result counts its encoded size
 * when it is encoded for L2 or L3 anyway, else `estimatedEncodedBytes` (1.4–1.7× that for typical rows).
 */
export class MemoryTier {
  readonly stats = emptyTierStats();
  private readonly lru: LRUCache<string, MemoryEntry>;

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, MemoryEntry>({
      maxSize: Math.max(1, Math.floor(maxBytes)),
      sizeCalculation: (entry) => Math.max(1, entry.bytes),
      dispose: (_entry, _key, reason) => {
        if (reason === 'evict') this.stats.evictions += 1;
      },
    });
  }

  /** The entry under a key, if any (validity is the caller's check). */
  get(key: string): MemoryEntry | undefined {
    return this.lru.get(key);
  }

  /** The byte bound of the tier. */
  get maxBytes(): number {
    return this.lru.maxSize;
  }

  /** The entry under a key without touching its recency (validity is the caller's check). */
  peek(key: string): MemoryEntry | undefined {
    return this.lru.peek(key);
  }

  /** Whether an entry of this many bytes can be kept at all. */
  accepts(bytes: number): boolean {
    return bytes <= this.lru.maxSize;
  }

  /** Stores an entry unless it alone is larger than the tier. */
  set(key: string, entry: MemoryEntry): void {
    if (entry.bytes > this.lru.maxSize) return;
    this.lru.set(key, entry);
    this.stats.stores += 1;
  }

  /** Removes one key. */
  delete(key: string): void {
    this.lru.delete(key);
  }

  /** Removes entries for which `match` says yes; returns how many. */
  deleteWhere(match: (entry: MemoryEntry) => boolean): number {
    let removed = 0;
    for (const [key, entry] of [...this.lru.entries()]) {
      if (match(entry)) {
        this.lru.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  /** Drops everything. */
  clear(): void {
    this.lru.clear();
  }

  /** Stats with the current size. */
  snapshotStats(): TierStats {
    return { ...this.stats, bytes: this.lru.calculatedSize, entries: this.lru.size };
  }
}
