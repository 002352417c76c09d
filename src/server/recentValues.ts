/**
 * Values recomputed at most once per `maxAgeMs` for each key: the dashboard is polled by every open
 * page, and its snapshot costs far more than serving a copy up to a second old.
 */
export class RecentValues<T> {
  private readonly entries = new Map<string, { at: number; value: T }>();

  constructor(private readonly maxAgeMs: number) {}

  /** The value for `key`, recomputed by `compute` when older than the maximum age. */
  get(key: string, compute: () => T): T {
    const now = performance.now();
    const entry = this.entries.get(key);
    if (entry && now - entry.at < this.maxAgeMs) return entry.value;
    const value = compute();
    this.entries.set(key, { at: now, value });
    return value;
  }
}
