/**
 * Values recomputed at most once per `maxAgeMs` for each key: the dashboard is polled by every open
 * page, and its snapshot costs far more than serving a copy a moment old. When one computation takes
 * long (a recorder with many thousands of fingerprints), the age grows with it, so the service spends
 * at most 1 / COST_FACTOR of its time recomputing.
 */
export class RecentValues<T> {
  static readonly COST_FACTOR = 20;
  private readonly entries = new Map<string, { at: number; costMs: number; value: T }>();

  constructor(private readonly maxAgeMs: number) {}

  /** The value for `key`, recomputed by `compute` when older than its maximum age. */
  get(key: string, compute: () => T): T {
    const now = performance.now();
    const entry = this.entries.get(key);
    if (entry && now - entry.at < Math.max(this.maxAgeMs, entry.costMs * RecentValues.COST_FACTOR)) return entry.value;
    const value = compute();
    const done = performance.now();
    this.entries.set(key, { at: done, costMs: done - now, value });
    return value;
  }
}
