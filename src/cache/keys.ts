import type { SqlAnalysis } from '../sql/analyze.js';

/** The full identity of a cached result: never the fingerprint, which drops constants and LIMIT/OFFSET. */
export type CacheKey = string & { readonly brand: 'CacheKey' };

function tagParameter(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  if (original instanceof Date) return { $date: original.getTime() };
  if (Buffer.isBuffer(original)) return { $bytes: original.toString('base64') };
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value === undefined) return { $undefined: true };
  return value;
}

/** The parameters as text that tells apart every value pg would send differently (1 vs '1', Date, Buffer, bigint). */
export function parametersText(params: readonly unknown[]): string {
  if (params.length === 0) return '[]';
  return JSON.stringify(params, tagParameter);
}

/**
 * Key = scope (database target, which carries user and search_path) + the canonical statement
 * (every constant kept) + the bound parameters. Two users or schemas never share a key.
 */
export function cacheKeyOf(scope: string, analysis: SqlAnalysis, params: readonly unknown[]): CacheKey {
  return `${scope}\u0001${analysis.canonical}\u0001${parametersText(params)}` as CacheKey;
}
