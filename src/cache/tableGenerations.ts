import { ALL_COUNTER, tableCounters } from './dependencies.js';
import type { QueryCache } from './queryCache.js';

/**
 * A table's generation as the result cache sees it: `<store>:<epoch>:<counters>`, where the store is `redis`
 * (shared by every instance) or `local` (this process's memory only), and the counters are those every write
 * to the table through qopt, every captured external write and every `invalidateAll` bumps.
 */
export type TableGeneration = string & { readonly brand: 'TableGeneration' };

/** Reads the current generation of each table (null when none can be read). */
export type TableGenerationReader = (tables: readonly string[]) => Promise<Map<string, TableGeneration | null>>;

// Never an entry: the MGET of a lookup reads its key too.
const NO_ENTRY = '\u0004generations';

function countersOf(table: string): string[] {
  return [...tableCounters(table.split('.').pop()!.replace(/"/g, '')), ALL_COUNTER];
}

function allNull(tables: readonly string[]): Map<string, TableGeneration | null> {
  return new Map(tables.map((table) => [table, null]));
}

/**
 * The cache's generation of each table, from Redis when the cache has L2, else from this process's counters;
 * null for every table when the cache is off or Redis is unreachable (then only PostgreSQL's stamp can tell).
 */
export async function readTableGenerations(cache: QueryCache, tables: readonly string[]): Promise<Map<string, TableGeneration | null>> {
  if (!cache.enabled) return allNull(tables);
  if (!cache.redis) {
    const generations = new Map<string, TableGeneration | null>();
    for (const table of tables) generations.set(table, `local:${cache.local.epoch}:${countersOf(table).map((name) => cache.local.value(name)).join('.')}` as TableGeneration);
    return generations;
  }
  if (!cache.redis.isAvailable) return allNull(tables);
  const fields = tables.flatMap(countersOf);
  let seen;
  try {
    seen = await cache.redis.lookup(NO_ENTRY, fields);
  } catch {
    return allNull(tables);
  }
  const generations = new Map<string, TableGeneration | null>();
  const width = fields.length / Math.max(1, tables.length);
  tables.forEach((table, i) => generations.set(table, `${seen.epoch}:${seen.counters.slice(i * width, (i + 1) * width).join('.')}` as TableGeneration));
  return generations;
}

/** `store:epoch` of a generation: everything before its counters. */
function originOf(generation: string): string {
  return generation.slice(0, generation.lastIndexOf(':'));
}

/**
 * Whether a generation recorded with a copy still holds: true or false when the two can be compared, null when
 * they cannot (either unknown, from different stores, or from two processes' memories), so only PostgreSQL's
 * stamp can tell. A Redis that lost its counters has a new epoch: then the copy is treated as stale.
 */
export function generationHolds(recorded: string | null, current: string | null): boolean | null {
  if (recorded === null || current === null) return null;
  const [recordedStore] = recorded.split(':');
  const [currentStore] = current.split(':');
  if (recordedStore !== currentStore) return null;
  if (recordedStore === 'local' && originOf(recorded) !== originOf(current)) return null;
  return recorded === current;
}
