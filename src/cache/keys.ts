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
  // Fast path for the common case (numbers and strings): JSON.stringify's replacer costs ~1 µs.
  let text = '[';
  for (let i = 0; i < params.length; i += 1) {
    const value = params[i];
    if (i > 0) text += ',';
    if (typeof value === 'number') text += Number.isFinite(value) ? String(value) : `{"$number":"${String(value)}"}`;
    else if (typeof value === 'string') text += JSON.stringify(value);
    else if (value === null || typeof value === 'boolean') text += String(value);
    else return JSON.stringify(params, tagParameter);
  }
  return `${text}]`;
}

/**
 * Key = scope (database target, which carries user and search_path) + the canonical statement
 * (every constant kept) + the bound parameters. Two users or schemas never share a key.
 */
export function cacheKeyOf(scope: string, analysis: SqlAnalysis, params: readonly unknown[], role?: string): CacheKey {
  return `${scope}\u0001${analysis.canonical}\u0001${rolePart(role)}${parametersText(params)}` as CacheKey;
}

// A statement run under another role than the connection's (SET LOCAL ROLE) gets keys of its own.
function rolePart(role: string | undefined): string {
  return role === undefined ? '' : `\u0002${role}\u0002`;
}

/** The two names of one cached result: a short one for this process's L1, the full key for shared tiers. */
export interface EntryKeys {
  /** Statement id (interned per process) + parameters: cheap to hash on every L1 lookup. */
  local: string;
  full: CacheKey;
}

/** Builds keys for one scope, remembering the statement parts beside each (memoized, frozen) analysis. */
export class CacheKeys {
  private readonly statementParts = new WeakMap<SqlAnalysis, { full: string; local: string }>();
  private readonly statementIds = new Map<string, string>();

  constructor(private readonly scope: string) {}

  /** Both keys of a read; `full` equals `cacheKeyOf(scope, analysis, params, role)`. */
  keysOf(analysis: SqlAnalysis, params: readonly unknown[], role?: string): EntryKeys {
    let parts = this.statementParts.get(analysis);
    if (parts === undefined) {
      const full = `${this.scope}\u0001${analysis.canonical}\u0001`;
      // Two texts with one canonical form share an id, so they share L1 entries as they share shared-tier keys.
      let id = this.statementIds.get(full);
      if (id === undefined) {
        id = `#${this.statementIds.size}\u0001`;
        this.statementIds.set(full, id);
      }
      parts = { full, local: id };
      this.statementParts.set(analysis, parts);
    }
    const text = role === undefined ? parametersText(params) : rolePart(role) + parametersText(params);
    return { local: parts.local + text, full: (parts.full + text) as CacheKey };
  }
}
