/**
 * A mergeable log-linear histogram of non-negative values (latencies in milliseconds). Each power
 * of two is split into SUB_BUCKETS linear buckets, so a quantile is reported within half a bucket
 * (< 0.4 % relative error). Counts live in a dense typed array that spans only the buckets between
 * the smallest and largest value seen (a few octaves for a real query: a few KB), so recording is an
 * index computation and an array increment, and merging is element-wise addition. A histogram can
 * merge a finer one (more sub-buckets): each fine bucket lies inside exactly one coarse bucket, so
 * the result is the one recording the same values directly would give.
 *
 * A histogram starts sparse: a short sorted array of (bucket, count) words, so one that holds a few
 * values (a fingerprint's minute at 10 calls per minute) costs tens of bytes instead of a dense array
 * over its whole range. It turns dense once it holds more than MAX_SPARSE_BUCKETS distinct buckets or
 * a count beyond 16 bits, and gives bucket-for-bucket the same answers in either form.
 */
/** Scratch space to read a double's exponent and mantissa bits (IEEE 754, little-endian high word at [1]). */
const FLOAT = new Float64Array(1);
const WORDS = new Uint32Array(FLOAT.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The element type of the counts: `Float64Array` (the default) counts exactly up to 2^53;
 * `Uint32Array` takes half the memory. A 32-bit histogram turns its counts 64-bit before a merge
 * or `reserve` could take its total past 2^32 − 1; `record` does not check (it stays short for the
 * recorder's time slots, which never hold that many values).
 */
export type CountArray = Float64ArrayConstructor | Uint32ArrayConstructor;

/** Values are stored in units of this many milliseconds (1 µs). */
const RESOLUTION_MS = 0.001;

/** Distinct buckets a sparse histogram holds before it turns dense (its lookups are a binary search over them). */
const MAX_SPARSE_BUCKETS = 64;
/**
 * A sparse entry packs its bucket into the high 16 bits and its count into the low 16 bits of one
 * word, so entries sorted as numbers are sorted by bucket. Buckets from 2^16 on (values beyond
 * 2^511 µs at 128 sub-buckets) and counts beyond 2^16 − 1 make the histogram dense.
 */
const SPARSE_COUNT_BITS = 16;
const SPARSE_COUNT_MASK = 0xffff;
const SPARSE_BUCKET_LIMIT = 0x10000;
/** The sparse array grows 16 entries (64 bytes) at a time: V8 keeps a typed array of at most 64 bytes inside the heap, without a separate backing store. */
const SPARSE_GROWTH = 16;
/** A dense histogram whose period held at most this many values goes back to sparse when it is cleared (half the limit, so a histogram near it does not flip every period). */
const SPARSE_AGAIN_AT = MAX_SPARSE_BUCKETS / 2;
/**
 * Bytes V8 spends on a histogram besides its count data: the object and, per non-empty typed array,
 * its JSTypedArray and JSArrayBuffer objects and the backing store's bookkeeping (measured on Node 20).
 */
const OBJECT_BYTES = 136;
const TYPED_ARRAY_BYTES = 220;

const MAX_32_BIT_COUNT = 0xffffffff;

/** Shared zero-length arrays: a sparse histogram's dense counts, a dense one's sparse entries. */
const NO_FLOAT_COUNTS = new Float64Array(0);
const NO_UINT_COUNTS = new Uint32Array(0);
const NO_ENTRIES = new Uint32Array(0);

export class LogLinearHistogram {
  /** The default precision: 128 linear buckets per power of two (< 0.4 % error). */
  static readonly SUB_BUCKETS = 128;
  /** Values are stored in units of this many milliseconds (1 µs). */
  static readonly RESOLUTION_MS = RESOLUTION_MS;

  /** Dense counts (empty while the histogram is sparse). */
  private counts: Float64Array | Uint32Array;
  /** Sparse entries (bucket << 16 | count), sorted; the first `distinct` are in use. Empty once dense. */
  private entries: Uint32Array = NO_ENTRIES;
  private distinct = 0;
  /** The bucket index of `counts[0]`. */
  private offset = 0;
  private total = 0;
  private sum = 0;
  private minimum = Number.POSITIVE_INFINITY;
  private maximum = 0;

  /** Right shift that leaves log2(subBuckets) mantissa bits of a double's high word. */
  private readonly mantissaShift: number;

  /** log2(subBuckets). */
  private readonly bits: number;

  /**
   * `subBuckets` (a power of two, at most 2^20) trades precision for memory: 32 gives < 1.6 % error in a
   * quarter of the space of the default 128 (< 0.4 %), 64 gives < 0.8 % in half. `countArray` is the element type of the counts.
   */
  constructor(
    readonly subBuckets: number = LogLinearHistogram.SUB_BUCKETS,
    private countArray: CountArray = Float64Array,
  ) {
    const bits = Math.log2(subBuckets);
    if (!Number.isInteger(bits) || bits < 0 || bits > 20) throw new RangeError(`subBuckets must be a power of two up to 2^20, got ${subBuckets}`);
    this.bits = bits;
    this.mantissaShift = 20 - bits;
    this.counts = this.noCounts();
  }

  /** Adds one observation (or `count` identical ones). */
  record(valueMs: number, count = 1): void {
    const value = valueMs > 0 ? valueMs : 0;
    const bucket = this.bucketOf(value);
    const index = bucket - this.offset;
    const counts = this.counts;
    // Kept short so that the compiler inlines it into the recorder; growing and the sparse form are out of line.
    if (index >= 0 && index < counts.length) counts[index]! += count;
    else this.recordGrowing(bucket, count);
    this.total += count;
    this.sum += value * count;
    if (value < this.minimum) this.minimum = value;
    if (value > this.maximum) this.maximum = value;
  }

  /** Adds every observation of another histogram of the same or a finer precision. */
  merge(other: LogLinearHistogram): void {
    if (other.total === 0) return;
    if (other.subBuckets < this.subBuckets) throw new RangeError(`cannot merge a histogram of ${other.subBuckets} sub-buckets into one of ${this.subBuckets}`);
    this.reserve(other.total);
    if (other.counts.length === 0) this.mergeSparse(other);
    else this.mergeDense(other);
    this.total += other.total;
    this.sum += other.sum;
    this.minimum = Math.min(this.minimum, other.minimum);
    this.maximum = Math.max(this.maximum, other.maximum);
  }

  /** Makes room for `count` more values: 32-bit counts become 64-bit before the total could pass 2^32 − 1 (no bucket then can). */
  reserve(count: number): void {
    if (this.countArray === Float64Array || this.total + count <= MAX_32_BIT_COUNT) return;
    this.countArray = Float64Array;
    this.counts = this.counts.length === 0 ? NO_FLOAT_COUNTS : Float64Array.from(this.counts);
  }

  /** Adds a sparse histogram's entries one by one (this one may turn dense on the way). */
  private mergeSparse(other: LogLinearHistogram): void {
    const coarsen = other.bits - this.bits;
    for (let i = 0; i < other.distinct; i += 1) {
      const entry = other.entries[i]!;
      this.addToBucket(LogLinearHistogram.coarser(entry >>> SPARSE_COUNT_BITS, coarsen), entry & SPARSE_COUNT_MASK);
    }
  }

  /** Adds a dense histogram element-wise (turning this one dense first: the other already needed a dense array). */
  private mergeDense(other: LogLinearHistogram): void {
    if (this.counts.length === 0) this.densify();
    // Only the buckets between the other's smallest and largest value can be non-zero.
    const first = other.bucketOf(other.minimum) - other.offset;
    const last = other.bucketOf(other.maximum) - other.offset;
    const coarsen = other.bits - this.bits;
    this.grow(LogLinearHistogram.coarser(first + other.offset, coarsen));
    this.grow(LogLinearHistogram.coarser(last + other.offset, coarsen));
    if (coarsen === 0) {
      const shift = other.offset - this.offset;
      for (let i = first; i <= last; i += 1) this.counts[i + shift]! += other.counts[i]!;
    } else {
      for (let i = first; i <= last; i += 1) {
        const count = other.counts[i]!;
        if (count !== 0) this.counts[LogLinearHistogram.coarser(i + other.offset, coarsen) - this.offset]! += count;
      }
    }
  }

  /**
   * Forgets every observation, keeping the arrays for reuse (zeroed); a dense histogram that held
   * few values goes back to sparse, releasing its dense array.
   */
  clear(): void {
    if (this.total === 0) return;
    if (this.counts.length === 0) {
      this.distinct = 0;
    } else if (this.total <= SPARSE_AGAIN_AT) {
      this.counts = this.noCounts();
    } else {
      // Only the buckets between the smallest and largest value can be non-zero.
      this.counts.fill(0, this.bucketOf(this.minimum) - this.offset, this.bucketOf(this.maximum) - this.offset + 1);
    }
    this.total = 0;
    this.sum = 0;
    this.minimum = Number.POSITIVE_INFINITY;
    this.maximum = 0;
  }

  /** An independent copy. */
  clone(): LogLinearHistogram {
    const copy = new LogLinearHistogram(this.subBuckets);
    copy.merge(this);
    return copy;
  }

  get count(): number {
    return this.total;
  }

  /** Sum of every recorded value, in milliseconds. */
  get totalMs(): number {
    return this.sum;
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

  /** Buckets allocated: the dense array's length (8 or 4 bytes each), or the sparse entries' capacity (4 bytes each). */
  get bucketCount(): number {
    return this.counts.length > 0 ? this.counts.length : this.entries.length;
  }

  /** True while the counts are kept as sorted (bucket, count) entries rather than a dense array. */
  get isSparse(): boolean {
    return this.counts.length === 0;
  }

  /** Approximate bytes this histogram holds, V8's object overheads included. */
  get byteSize(): number {
    const array = this.counts.length > 0 ? this.counts : this.entries;
    return OBJECT_BYTES + (array.length > 0 ? TYPED_ARRAY_BYTES + array.byteLength : 0);
  }

  /** The value at quantile q (0..1), nearest-rank, clamped to the observed min and max. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.total));
    if (this.counts.length === 0) return this.sparseQuantile(rank);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i += 1) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maximum, Math.max(this.minimum, this.valueOf(i + this.offset)));
    }
    return this.maximum;
  }

  /**
   * The values at several quantiles in one pass over the buckets (`qs` ascending, 0..1), each as
   * `quantile(q)` gives it: a snapshot of thousands of fingerprints asks four per fingerprint.
   */
  quantiles(qs: readonly number[]): number[] {
    const values = new Array<number>(qs.length).fill(this.total === 0 ? 0 : this.maximum);
    if (this.total === 0) return values;
    const ranks = qs.map((q) => Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.total)));
    let next = 0;
    let seen = 0;
    const dense = this.counts.length > 0;
    const length = dense ? this.counts.length : this.distinct;
    for (let i = 0; i < length && next < ranks.length; i += 1) {
      let bucket: number;
      if (dense) {
        seen += this.counts[i]!;
        bucket = i + this.offset;
      } else {
        const entry = this.entries[i]!;
        seen += entry & SPARSE_COUNT_MASK;
        bucket = entry >>> SPARSE_COUNT_BITS;
      }
      while (next < ranks.length && seen >= ranks[next]!) {
        values[next] = Math.min(this.maximum, Math.max(this.minimum, this.valueOf(bucket)));
        next += 1;
      }
    }
    return values;
  }

  /**
   * Adds to `into[k]` how many recorded values are at most `limitsMs[k]` (ascending), in one pass:
   * Prometheus buckets summed over many histograms without merging them.
   */
  addCountsAtOrBelow(limitsMs: readonly number[], into: number[]): void {
    if (this.total === 0) return;
    let next = 0;
    // Limits below the minimum count nothing; limits at or over the maximum count everything.
    while (next < limitsMs.length && limitsMs[next]! < this.minimum) next += 1;
    let last = limitsMs.length;
    while (last > next && limitsMs[last - 1]! >= this.maximum) {
      last -= 1;
      into[last]! += this.total;
    }
    if (next >= last) return;
    let lastBucket = this.bucketOf(limitsMs[next]!);
    let seen = 0;
    const dense = this.counts.length > 0;
    const length = dense ? this.counts.length : this.distinct;
    for (let i = 0; i < length; i += 1) {
      const bucket = dense ? i + this.offset : this.entries[i]! >>> SPARSE_COUNT_BITS;
      while (bucket > lastBucket) {
        into[next]! += seen;
        next += 1;
        if (next >= last) return;
        lastBucket = this.bucketOf(limitsMs[next]!);
      }
      seen += dense ? this.counts[i]! : this.entries[i]! & SPARSE_COUNT_MASK;
    }
    for (; next < last; next += 1) into[next]! += seen;
  }

  /** How many recorded values are at most `limitMs` (exact up to the bucket holding the limit). */
  countAtOrBelow(limitMs: number): number {
    if (this.total === 0) return 0;
    if (limitMs >= this.maximum) return this.total;
    if (limitMs < this.minimum) return 0;
    if (this.counts.length === 0) return this.sparseCountAtOrBelow(this.bucketOf(limitMs));
    const last = this.bucketOf(limitMs) - this.offset;
    let seen = 0;
    for (let i = 0; i <= last && i < this.counts.length; i += 1) seen += this.counts[i]!;
    return seen;
  }

  private sparseQuantile(rank: number): number {
    let seen = 0;
    for (let i = 0; i < this.distinct; i += 1) {
      const entry = this.entries[i]!;
      seen += entry & SPARSE_COUNT_MASK;
      if (seen >= rank) return Math.min(this.maximum, Math.max(this.minimum, this.valueOf(entry >>> SPARSE_COUNT_BITS)));
    }
    return this.maximum;
  }

  private sparseCountAtOrBelow(lastBucket: number): number {
    let seen = 0;
    for (let i = 0; i < this.distinct; i += 1) {
      const entry = this.entries[i]!;
      if (entry >>> SPARSE_COUNT_BITS > lastBucket) break;
      seen += entry & SPARSE_COUNT_MASK;
    }
    return seen;
  }

  /** Counts into a bucket outside the dense array: a sparse histogram's entries, or a grown dense array. */
  private recordGrowing(bucket: number, count: number): void {
    this.addToBucket(bucket, count);
  }

  /** Adds `count` to a bucket in either form (only the counts: the caller keeps total, sum and extremes). */
  private addToBucket(bucket: number, count: number): void {
    if (this.counts.length === 0 && this.addSparse(bucket, count)) return;
    const index = this.grow(bucket);
    this.counts[index]! += count;
  }

  /** Adds to the sparse entries; false (after turning dense) when they cannot hold the bucket or its count. */
  private addSparse(bucket: number, count: number): boolean {
    const entries = this.entries;
    const used = this.distinct;
    let low = 0;
    let high = used;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (entries[middle]! >>> SPARSE_COUNT_BITS < bucket) low = middle + 1;
      else high = middle;
    }
    if (low < used && entries[low]! >>> SPARSE_COUNT_BITS === bucket) {
      if ((entries[low]! & SPARSE_COUNT_MASK) + count > SPARSE_COUNT_MASK) return this.densify();
      entries[low]! += count;
      return true;
    }
    if (used >= MAX_SPARSE_BUCKETS || bucket >= SPARSE_BUCKET_LIMIT || count > SPARSE_COUNT_MASK) return this.densify();
    if (used < entries.length) {
      entries.copyWithin(low + 1, low, used);
    } else {
      const grown = new Uint32Array(used + SPARSE_GROWTH);
      grown.set(entries.subarray(0, low));
      grown.set(entries.subarray(low, used), low + 1);
      this.entries = grown;
    }
    this.entries[low] = bucket * SPARSE_BUCKET_LIMIT + count;
    this.distinct = used + 1;
    return true;
  }

  /** Moves the sparse entries into a dense array spanning them (plus a little room each side); returns false for `addSparse`. */
  private densify(): false {
    const used = this.distinct;
    const entries = this.entries;
    this.entries = NO_ENTRIES;
    this.distinct = 0;
    // With no entries the dense array is allocated by `grow` around the first bucket written.
    if (used === 0) return false;
    const first = entries[0]! >>> SPARSE_COUNT_BITS;
    const last = entries[used - 1]! >>> SPARSE_COUNT_BITS;
    const pad = this.subBuckets / 8;
    this.offset = Math.max(0, first - pad);
    this.counts = new this.countArray(last + pad - this.offset + 1);
    for (let i = 0; i < used; i += 1) this.counts[(entries[i]! >>> SPARSE_COUNT_BITS) - this.offset] = entries[i]! & SPARSE_COUNT_MASK;
    return false;
  }

  private noCounts(): Float64Array | Uint32Array {
    return this.countArray === Uint32Array ? NO_UINT_COUNTS : NO_FLOAT_COUNTS;
  }

  /** Grows the dense array so that it covers `bucket`; returns the bucket's index. */
  private grow(bucket: number): number {
    if (this.counts.length === 0) {
      const initial = this.subBuckets / 4;
      this.counts = new this.countArray(initial);
      this.offset = Math.max(0, bucket - initial / 2);
      return bucket - this.offset;
    }
    const low = Math.min(this.offset, bucket);
    const high = Math.max(this.offset + this.counts.length - 1, bucket);
    if (low === this.offset && high === this.offset + this.counts.length - 1) return bucket - this.offset;
    // Grow by at least a quarter octave on the side that overflowed, so a drifting latency does not reallocate on every sample.
    const pad = this.subBuckets / 4;
    const newLow = low < this.offset ? Math.max(0, low - pad) : low;
    const newHigh = high > this.offset + this.counts.length - 1 ? high + pad : high;
    const grown = new this.countArray(newHigh - newLow + 1);
    grown.set(this.counts, this.offset - newLow);
    this.counts = grown;
    this.offset = newLow;
    return bucket - this.offset;
  }

  /**
   * The bucket of a value: its binary exponent and the top mantissa bits, read straight from the
   * double's bits (no log2 on the hot path); identical to floor((v / 2^e − 1) × subBuckets).
   */
  private bucketOf(valueMs: number): number {
    const units = valueMs / RESOLUTION_MS;
    if (!(units >= 1)) return 0;
    FLOAT[0] = units;
    const high = WORDS[HIGH_WORD]!;
    const exponent = ((high >>> 20) & 0x7ff) - 1023;
    return 1 + exponent * this.subBuckets + ((high >>> this.mantissaShift) & (this.subBuckets - 1));
  }

  /** The bucket, `coarsen` bits of sub-bucket coarser, that holds a bucket (bucket 0 holds the values below 1 µs at every precision). */
  private static coarser(bucket: number, coarsen: number): number {
    return bucket === 0 ? 0 : 1 + ((bucket - 1) >>> coarsen);
  }

  /** The midpoint of a bucket, in milliseconds. */
  private valueOf(bucket: number): number {
    if (bucket === 0) return 0;
    const index = bucket - 1;
    const exponent = Math.floor(index / this.subBuckets);
    const sub = index % this.subBuckets;
    const low = 2 ** exponent * (1 + sub / this.subBuckets);
    const high = 2 ** exponent * (1 + (sub + 1) / this.subBuckets);
    return ((low + high) / 2) * RESOLUTION_MS;
  }
}
