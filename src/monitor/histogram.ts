/**
 * A mergeable log-linear histogram of non-negative values (latencies in milliseconds). Each power
 * of two is split into SUB_BUCKETS linear buckets, so any recorded value is reported within
 * 1 / SUB_BUCKETS (< 0.8 %) relative error; storage is sparse, so an idle histogram costs little.
 */
export class LogLinearHistogram {
  static readonly SUB_BUCKETS = 128;
  /** Values are stored in units of this many milliseconds (1 µs). */
  static readonly RESOLUTION_MS = 0.001;

  private readonly counts = new Map<number, number>();
  private total = 0;
  private sum = 0;
  private minimum = Number.POSITIVE_INFINITY;
  private maximum = 0;

  /** Adds one observation. */
  record(valueMs: number, count = 1): void {
    const value = Math.max(0, valueMs);
    const bucket = LogLinearHistogram.bucketOf(value);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
    this.total += count;
    this.sum += value * count;
    if (value < this.minimum) this.minimum = value;
    if (value > this.maximum) this.maximum = value;
  }

  /** Adds every observation of another histogram. */
  merge(other: LogLinearHistogram): void {
    for (const [bucket, count] of other.counts) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
    this.total += other.total;
    this.sum += other.sum;
    this.minimum = Math.min(this.minimum, other.minimum);
    this.maximum = Math.max(this.maximum, other.maximum);
  }

  get count(): number {
    return this.total;
  }

  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  get min(): number {
    return this.total === 0 ? 0 : this.minimum;
  }

  get max(): number {
    return this.maximum;
  }

  /** Distinct buckets in use (memory is proportional to this). */
  get bucketCount(): number {
    return this.counts.size;
  }

  /** The value at quantile q (0..1), nearest-rank, clamped to the observed min and max. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.total));
    const buckets = [...this.counts.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const bucket of buckets) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return Math.min(this.maximum, Math.max(this.minimum, LogLinearHistogram.valueOf(bucket)));
    }
    return this.maximum;
  }

  private static bucketOf(valueMs: number): number {
    const units = valueMs / LogLinearHistogram.RESOLUTION_MS;
    if (units < 1) return 0;
    const exponent = Math.floor(Math.log2(units));
    const sub = Math.floor((units / 2 ** exponent - 1) * LogLinearHistogram.SUB_BUCKETS);
    return 1 + exponent * LogLinearHistogram.SUB_BUCKETS + Math.min(sub, LogLinearHistogram.SUB_BUCKETS - 1);
  }

  /** The midpoint of a bucket, in milliseconds. */
  private static valueOf(bucket: number): number {
    if (bucket === 0) return 0;
    const index = bucket - 1;
    const exponent = Math.floor(index / LogLinearHistogram.SUB_BUCKETS);
    const sub = index % LogLinearHistogram.SUB_BUCKETS;
    const low = 2 ** exponent * (1 + sub / LogLinearHistogram.SUB_BUCKETS);
    const high = 2 ** exponent * (1 + (sub + 1) / LogLinearHistogram.SUB_BUCKETS);
    return ((low + high) / 2) * LogLinearHistogram.RESOLUTION_MS;
  }
}
