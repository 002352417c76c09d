import { LRUCache } from 'lru-cache';

/**
 * What a read ran under beyond the cache's scope (database, login user and search_path: one per cache):
 * a role its caller set for it (`SET LOCAL ROLE`) and a statement timeout its caller chose, as the
 * service's `POST /query` does. Empty: the pipeline's own, which is what warm-up runs under.
 */
export interface RunIdentity {
  readonly role?: string;
  readonly statementTimeoutMs?: number;
}

/** True when two identities are the same role and statement timeout. */
export function sameIdentity(a: RunIdentity, b: RunIdentity): boolean {
  return a.role === b.role && a.statementTimeoutMs === b.statementTimeoutMs;
}

/** One runnable instance of a query shape: its text, bound parameters, and the identity it was loaded under. */
export interface Exemplar {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly identity: RunIdentity;
}

interface Recent extends Exemplar {
  readonly key: string;
}

/**
 * The most recent distinct instances (text + parameters) of each query shape whose result the cache
 * loaded: what warm-up re-runs when the monitor says a shape is hot. Noted on loads only, never on
 * hits, so a steady cache pays nothing for it; bounded in shapes (LRU) and instances per shape.
 * Parameters stay in this process's memory, as the cached results themselves do.
 */
export class Exemplars {
  private readonly byShape: LRUCache<string, Recent[]>;

  constructor(
    maxShapes: number,
    private readonly perShape: number,
  ) {
    this.byShape = new LRUCache({ max: Math.max(1, maxShapes) });
  }

  /** Notes that `key` (the cache key of `sql` + `params`) of shape `fingerprint` was loaded just now, under `identity`. */
  note(fingerprint: string, key: string, sql: string, params: readonly unknown[], identity: RunIdentity = {}): void {
    const recent = this.byShape.get(fingerprint);
    const latest = recent?.[0];
    // Already the most recent instance (a read repeated from L2): nothing to copy or move.
    if (latest !== undefined && latest.key === key && sameIdentity(latest.identity, identity)) return;
    // A copy: the caller may reuse its parameter array for its next query.
    const instance: Recent = { key, sql, params: [...params], identity };
    if (!recent) {
      this.byShape.set(fingerprint, [instance]);
      return;
    }
    const known = recent.findIndex((entry) => entry.key === key);
    if (known >= 0) recent.splice(known, 1);
    recent.unshift(instance);
    // pop(), not `length =`: shrinking an array by its length is several times slower.
    while (recent.length > this.perShape) recent.pop();
  }

  /** The instances of a shape, most recent first (at most `limit`). */
  of(fingerprint: string, limit = this.perShape): Exemplar[] {
    return (this.byShape.peek(fingerprint) ?? []).slice(0, limit).map(({ sql, params, identity }) => ({ sql, params, identity }));
  }

  /** Shapes with at least one instance. */
  get size(): number {
    return this.byShape.size;
  }

  clear(): void {
    this.byShape.clear();
  }
}
