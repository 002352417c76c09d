import type { Fingerprint } from '../sql/analyze.js';
import { LogLinearHistogram } from './histogram.js';

/** Where a result came from, as the cache reports it. */
export type CacheOutcome = 'hit' | 'miss' | 'bypass';

/**
 * One execution of a statement, as the pipeline reports it. Only the first five fields are
 * required; the cache, the executor and the request layer fill in what they know.
 */
export interface QueryObservation {
  fingerprint: Fingerprint;
  normalized: string;
  durationMs: number;
  rows: number;
  failed: boolean;
  /** When it finished (epoch ms); defaults to now. Replayed traces pass their own clock. */
  at?: number;
  /** The statement text as the caller wrote it (for the slow log, EXPLAIN and N+1 batching). */
  sql?: string;
  /** The bound parameters (redacted in the slow log unless `monitor.logParameters`). */
  params?: readonly unknown[];
  /** `db.operation.name`: SELECT, INSERT, … */
  operation?: string;
  /** `db.collection.name`: the first table the statement names. */
  collection?: string;
  /** True when the statement only reads (N+1 findings are about reads). */
  readOnly?: boolean;
  /** Cache outcome when the cache stage saw the query. */
  cache?: CacheOutcome;
  /** Time spent waiting for a pooled connection. */
  poolWaitMs?: number;
  /** Retries the executor made before this outcome. */
  retries?: number;
  /** Where the executor sent it: primary, replica, cache, duckdb… */
  route?: string;
  /** The request context's name (set by `qo.withContext`). */
  context?: string;
  /** Identifies the connection the statement ran on, when the executor knows it. */
  connection?: string | number;
  /** `error.type`: the error class or SQLSTATE when it failed. */
  errorType?: string;
}

/** Per-fingerprint statistics with real percentiles. */
export interface FingerprintStats {
  fingerprint: Fingerprint;
  normalized: string;
  operation: string;
  collection: string;
  calls: number;
  errors: number;
  rows: number;
  totalMs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Executions over the slow-query threshold. */
  slow: number;
  cacheHits: number;
  cacheMisses: number;
  retries: number;
  /** Mean pool wait, ms (0 when nobody reported it). */
  meanPoolWaitMs: number;
  /** Executions per route. */
  routes: Record<string, number>;
}

/** One fingerprint's cumulative counters, as the Prometheus exposition reads them. */
export interface ExportedEntry {
  operation: string;
  collection: string;
  calls: number;
  errors: number;
  rows: number;
  slow: number;
  cacheHits: number;
  cacheMisses: number;
  /** Sum of the latencies, ms. */
  totalMs: number;
  /** Adds to `into[k]` the samples at most `limitsMs[k]` ms (ascending), straight from the entry's histograms (no merge). */
  addLatencyCountsAtOrBelow(limitsMs: readonly number[], into: number[]): void;
}

/**
 * One fingerprint's counters over a window, read without merging a histogram: what alert rules scan
 * over thousands of fingerprints every few seconds. Latency is read from the window's slots in place.
 */
export interface WindowCounters {
  fingerprint: Fingerprint;
  normalized: string;
  calls: number;
  errors: number;
  slow: number;
  cacheHits: number;
  cacheMisses: number;
  totalMs: number;
  /** Adds to `into[k]` the window's samples at most `limitsMs[k]` ms (ascending). */
  addLatencyCountsAtOrBelow(limitsMs: readonly number[], into: number[]): void;
  /** Merges the window's latencies into `target` (at most as fine as the window's precision). */
  mergeLatencyInto(target: LogLinearHistogram): void;
  /** The full statistics of the window (merges its slots: for the few fingerprints shown as evidence). */
  stats(): FingerprintStats;
}

/** A rolling window the recorder keeps: the current minute, the last 5 minutes, the last hour. */
export type WindowMinutes = 1 | 5 | 60;

/** Counters of one time slot of one fingerprint. */
interface Slot {
  /** The slot's index in its own unit (minutes or five-minute periods since the epoch). */
  index: number;
  /**
   * Epoch ms a sample must be at or after, and before, to belong to this slot without computing its
   * minute; `fitsBeforeMs` stops short of the slot's end (see `newSlot`).
   */
  fitsFromMs: number;
  fitsBeforeMs: number;
  latency: LogLinearHistogram;
  calls: number;
  errors: number;
  slow: number;
  rows: number;
  cacheHits: number;
  cacheMisses: number;
}

interface Entry {
  fingerprint: Fingerprint;
  normalized: string;
  operation: string;
  collection: string;
  calls: number;
  /** Sum of every sample's latency (what the histograms hold, kept here so ranking needs no merge). */
  totalMs: number;
  errors: number;
  rows: number;
  slow: number;
  cacheHits: number;
  cacheMisses: number;
  retries: number;
  poolWaitMs: number;
  poolWaitCount: number;
  routes: Record<string, number> | null;
  lastAt: number;
  /**
   * Latencies of every sample not held by a minute slot of the ring: a minute slot is folded in
   * when it is reused. The cumulative histogram is this plus the ring's minute slots.
   */
  retired: LogLinearHistogram;
  /** The minute slot of the latest minute seen: most samples belong to it. */
  current: Slot;
  /** Ring of 1-minute slots (the 1 m and 5 m windows, and the part of the cumulative histogram not yet retired). */
  minutes: (Slot | undefined)[];
  /** Ring of 5-minute slots (the 1 h window). */
  fiveMinutes: (Slot | undefined)[];
}

/** Options of the recorder. */
export interface RecorderOptions {
  /** Fingerprints tracked individually; the rest are folded into `other`. */
  maxFingerprints?: number;
  /** Executions slower than this count as slow. */
  slowThresholdMs?: number;
}

/** The fingerprint under which everything beyond the top K is kept. */
export const OTHER_FINGERPRINT = 'other' as Fingerprint;

/** A fingerprint counted while the table is full, until it is busy enough to take a tracked one's place. */
interface Candidate {
  calls: number;
  normalized: string;
  operation: string | undefined;
  collection: string | undefined;
}

/** Candidates counted at once; when full the count starts over (busy ones come back within seconds). */
const MAX_CANDIDATES = 1024;
/** A candidate needs at least this many calls, and more than the coldest tracked fingerprint's recent ones. */
const MIN_PROMOTION_CALLS = 8;
/** The coldest tracked fingerprint is looked up again after this many overflowing samples (a scan of the table). */
const COLDEST_REUSE_SAMPLES = 256;

const MINUTE_MS = 60_000;
const MINUTE_SLOTS = 5;
const FIVE_MINUTE_SLOTS = 12;
/** Minute slots keep full precision (128 buckets per octave, < 0.4 %): they are folded into the cumulative histogram. */
const MINUTE_PRECISION = LogLinearHistogram.SUB_BUCKETS;
/** 5-minute slots use 64 buckets per octave (< 0.8 % error, inside the 1 % the percentiles promise): 12 of them per fingerprint must stay small. */
const FIVE_MINUTE_PRECISION = 64;
/**
 * The last millisecond of a minute takes the slow path, which computes the sample's minute by
 * division as the windows do: `at / MINUTE_MS` may round up to the next minute just below it.
 */
const FIT_MARGIN_MS = 1;
/**
 * V8 heap bytes of an entry besides its histograms and text (the object, its boxed doubles, the two
 * rings, the fingerprint string and its map entry) and of a slot object; measured on Node 20.
 */
const ENTRY_BYTES = 608;
/** The percentiles every statistic reports, read in one pass. */
const REPORTED_QUANTILES = [0.5, 0.95, 0.99, 0.999];
const SLOT_BYTES = 136;

// Slot counts are Uint32: a slot holds at most five minutes of one fingerprint, far below 2^32 in a bucket.
function newSlot(index: number, unitMs: number, precision: number): Slot {
  const slot: Slot = { index, fitsFromMs: 0, fitsBeforeMs: 0, latency: new LogLinearHistogram(precision, Uint32Array), calls: 0, errors: 0, slow: 0, rows: 0, cacheHits: 0, cacheMisses: 0 };
  return resetSlot(slot, index, unitMs);
}

/** An empty slot to merge others into (not part of any ring). */
function mergedSlot(precision: number): Slot {
  return { index: 0, fitsFromMs: 0, fitsBeforeMs: 0, latency: new LogLinearHistogram(precision), calls: 0, errors: 0, slow: 0, rows: 0, cacheHits: 0, cacheMisses: 0 };
}

// Reuses a slot object for another period: its histogram keeps its buckets (zeroed), so rotating the
// windows allocates nothing once a fingerprint's range of latencies is known.
function resetSlot(slot: Slot, index: number, unitMs: number): Slot {
  slot.index = index;
  slot.fitsFromMs = index * unitMs;
  slot.fitsBeforeMs = (index + 1) * unitMs - FIT_MARGIN_MS;
  slot.latency.clear();
  slot.calls = 0;
  slot.errors = 0;
  slot.slow = 0;
  slot.rows = 0;
  slot.cacheHits = 0;
  slot.cacheMisses = 0;
  return slot;
}

function mergeSlot(target: Slot, slot: Slot): void {
  target.latency.merge(slot.latency);
  target.calls += slot.calls;
  target.errors += slot.errors;
  target.slow += slot.slow;
  target.rows += slot.rows;
  target.cacheHits += slot.cacheHits;
  target.cacheMisses += slot.cacheMisses;
}

/** A window's counters summed over its slots, latency total included (no histogram merged). */
function slotCounters(slots: readonly Slot[]): { calls: number; errors: number; slow: number; cacheHits: number; cacheMisses: number; totalMs: number } {
  const totals = { calls: 0, errors: 0, slow: 0, cacheHits: 0, cacheMisses: 0, totalMs: 0 };
  for (const slot of slots) {
    totals.calls += slot.calls;
    totals.errors += slot.errors;
    totals.slow += slot.slow;
    totals.cacheHits += slot.cacheHits;
    totals.cacheMisses += slot.cacheMisses;
    totals.totalMs += slot.latency.totalMs;
  }
  return totals;
}

function addToSlot(slot: Slot, duration: number, error: number, slow: number, rows: number, hit: number, miss: number): void {
  slot.latency.record(duration);
  slot.calls += 1;
  slot.errors += error;
  slot.slow += slow;
  slot.rows += rows;
  slot.cacheHits += hit;
  slot.cacheMisses += miss;
}

/**
 * Keeps latency histograms per query fingerprint — cumulative, and in rolling 1 m / 5 m / 1 h
 * windows — plus rows, errors, slow executions, cache outcomes, pool wait, retries and routes.
 * Memory is bounded: at most `maxFingerprints` entries, the rest folded into `other`.
 */
export class QueryRecorder {
  private readonly entries = new Map<Fingerprint, Entry>();
  readonly maxFingerprints: number;
  readonly slowThresholdMs: number;
  /** Samples of untracked fingerprints that arrived while the table was full (they went to `other`). */
  overflowed = 0;
  /** Fingerprints that took the place of a colder tracked one (which was folded into `other`). */
  promoted = 0;
  private readonly candidates = new Map<Fingerprint, Candidate>();
  private coldest: { entry: Entry; recentCalls: number; reuse: number } | undefined;

  constructor(options: RecorderOptions = {}) {
    this.maxFingerprints = options.maxFingerprints ?? 10_000;
    this.slowThresholdMs = options.slowThresholdMs ?? 1000;
  }

  /**
   * Records one execution. Its latency is written once, into the minute slot of its minute (or, for
   * a sample older than the minute ring, into the retired histogram and its 5-minute slot).
   */
  record(observation: QueryObservation): void {
    const at = observation.at ?? Date.now();
    const entry = this.entryFor(observation, at);
    const duration = observation.durationMs;
    const rows = observation.rows;
    const slow = duration > this.slowThresholdMs ? 1 : 0;
    const error = observation.failed ? 1 : 0;
    const cache = observation.cache;
    const hit = cache === 'hit' ? 1 : 0;
    const miss = cache === 'miss' ? 1 : 0;
    entry.calls += 1;
    entry.totalMs += duration;
    entry.rows += rows;
    entry.errors += error;
    entry.slow += slow;
    entry.cacheHits += hit;
    entry.cacheMisses += miss;
    entry.lastAt = at;
    const retries = observation.retries;
    if (retries) entry.retries += retries;
    const poolWaitMs = observation.poolWaitMs;
    if (poolWaitMs !== undefined) {
      entry.poolWaitMs += poolWaitMs;
      entry.poolWaitCount += 1;
    }
    const route = observation.route;
    if (route !== undefined) {
      entry.routes ??= {};
      entry.routes[route] = (entry.routes[route] ?? 0) + 1;
    }
    const current = entry.current;
    const slot = at >= current.fitsFromMs && at < current.fitsBeforeMs ? current : QueryRecorder.minuteSlot(entry, Math.floor(at / MINUTE_MS));
    if (slot) {
      addToSlot(slot, duration, error, slow, rows, hit, miss);
      return;
    }
    // Older than the minute ring: it counts in the cumulative histogram and, while its period is in the ring, the hour window.
    entry.retired.reserve(1);
    entry.retired.record(duration);
    const period = QueryRecorder.fiveMinuteSlot(entry, Math.floor(Math.floor(at / MINUTE_MS) / 5));
    if (period) addToSlot(period, duration, error, slow, rows, hit, miss);
  }

  /**
   * The minute slot of `minute`, reusing the ring's older slot at its position after folding that
   * one into the retired histogram and its 5-minute slot; null when the ring has moved past `minute`
   * (a late sample replayed out of order).
   */
  private static minuteSlot(entry: Entry, minute: number): Slot | null {
    const position = minute % MINUTE_SLOTS;
    const slot = entry.minutes[position];
    if (slot !== undefined && slot.index === minute) return slot;
    if (slot !== undefined && slot.index > minute) return null;
    let fresh: Slot;
    if (slot === undefined) {
      fresh = entry.minutes[position] = newSlot(minute, MINUTE_MS, MINUTE_PRECISION);
    } else {
      QueryRecorder.retire(entry, slot);
      fresh = resetSlot(slot, minute, MINUTE_MS);
    }
    if (minute > entry.current.index) entry.current = fresh;
    return fresh;
  }

  /** Folds a minute slot about to be reused into the retired histogram and into its 5-minute slot (if still in the ring). */
  private static retire(entry: Entry, slot: Slot): void {
    entry.retired.merge(slot.latency);
    const target = QueryRecorder.fiveMinuteSlot(entry, Math.floor(slot.index / 5));
    if (target) mergeSlot(target, slot);
  }

  /** The 5-minute slot of `period`, reusing the ring's older slot; null when `period` is older than the ring holds. */
  private static fiveMinuteSlot(entry: Entry, period: number): Slot | null {
    const position = period % FIVE_MINUTE_SLOTS;
    const target = entry.fiveMinutes[position];
    if (target === undefined) return (entry.fiveMinutes[position] = newSlot(period, 5 * MINUTE_MS, FIVE_MINUTE_PRECISION));
    if (target.index > period) return null;
    return target.index === period ? target : resetSlot(target, period, 5 * MINUTE_MS);
  }

  /** Fingerprints tracked individually right now (including `other` once used). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Cumulative statistics by total time, largest first: every fingerprint, or the first `limit`. Ranking
   * reads plain counters; only the fingerprints returned pay for merging histograms and reading
   * percentiles (at 10,000 fingerprints the whole table costs hundreds of milliseconds).
   */
  snapshot(limit: number = Number.POSITIVE_INFINITY): FingerprintStats[] {
    const ranked = [...this.entries.values()].sort((a, b) => b.totalMs - a.totalMs);
    return ranked.slice(0, limit).map((entry) => this.cumulativeStats(entry));
  }

  /** Cumulative totals over every fingerprint, from counters only (no histogram is read). */
  cumulativeTotals(): { fingerprints: number; calls: number; errors: number; totalMs: number } {
    let calls = 0;
    let errors = 0;
    let totalMs = 0;
    for (const entry of this.entries.values()) {
      calls += entry.calls;
      errors += entry.errors;
      totalMs += entry.totalMs;
    }
    return { fingerprints: this.entries.size, calls, errors, totalMs };
  }

  /**
   * Statistics over a rolling window ending at `now`, by total time; fingerprints idle in it are left
   * out, and only the first `limit` are merged. The 1-minute window holds the current minute and the
   * one before (1 to 2 minutes of samples), so it never starts empty when a minute turns; the 5-minute
   * window holds the current minute and the 4 before, the hour the current 5-minute period and the 11 before.
   */
  window(minutes: WindowMinutes, now: number = Date.now(), limit: number = Number.POSITIVE_INFINITY): FingerprintStats[] {
    const active: Array<{ entry: Entry; slots: Slot[]; totalMs: number }> = [];
    for (const entry of this.entries.values()) {
      const slots = QueryRecorder.windowSlots(entry, minutes, now);
      const { calls, totalMs } = slotCounters(slots);
      if (calls > 0) active.push({ entry, slots, totalMs });
    }
    active.sort((a, b) => b.totalMs - a.totalMs);
    return active.slice(0, limit).map(({ entry, slots }) => this.slotStats(entry, QueryRecorder.mergeSlots(slots, minutes)));
  }

  /** Every fingerprint active in a window, as counters (no histogram merged); see `WindowCounters`. */
  windowCounters(minutes: WindowMinutes, now: number = Date.now()): WindowCounters[] {
    const counters: WindowCounters[] = [];
    for (const entry of this.entries.values()) {
      const slots = QueryRecorder.windowSlots(entry, minutes, now);
      const totals = slotCounters(slots);
      if (totals.calls === 0) continue;
      counters.push({
        fingerprint: entry.fingerprint,
        normalized: entry.normalized,
        ...totals,
        addLatencyCountsAtOrBelow: (limitsMs, into) => {
          for (const slot of slots) slot.latency.addCountsAtOrBelow(limitsMs, into);
        },
        mergeLatencyInto: (target) => {
          for (const slot of slots) target.merge(slot.latency);
        },
        stats: () => this.slotStats(entry, QueryRecorder.mergeSlots(slots, minutes)),
      });
    }
    return counters;
  }

  /** The precision of a window's histograms (what `mergeLatencyInto` targets may have at most). */
  static precisionOf(minutes: WindowMinutes): number {
    return QueryRecorder.windowPrecision(minutes);
  }

  /** All fingerprints' counters over a window, merged (for alert rules over the whole workload). */
  totals(minutes: WindowMinutes, now: number = Date.now()): { calls: number; errors: number; slow: number; cacheHits: number; cacheMisses: number; latency: LogLinearHistogram } {
    const total = mergedSlot(QueryRecorder.windowPrecision(minutes));
    for (const entry of this.entries.values()) {
      const merged = this.windowSlot(entry, minutes, now);
      if (merged.calls === 0) continue;
      total.latency.merge(merged.latency);
      total.calls += merged.calls;
      total.errors += merged.errors;
      total.slow += merged.slow;
      total.cacheHits += merged.cacheHits;
      total.cacheMisses += merged.cacheMisses;
    }
    return total;
  }

  /** The cumulative latency histogram of one fingerprint (a copy), or undefined. */
  histogram(fingerprint: Fingerprint): LogLinearHistogram | undefined {
    const entry = this.entries.get(fingerprint);
    return entry ? QueryRecorder.cumulativeLatency(entry) : undefined;
  }

  /** The window histogram of one fingerprint (a fresh merge), or undefined when it is not tracked. */
  windowHistogram(fingerprint: Fingerprint, minutes: WindowMinutes, now: number = Date.now()): LogLinearHistogram | undefined {
    const entry = this.entries.get(fingerprint);
    return entry ? this.windowSlot(entry, minutes, now).latency : undefined;
  }

  /** Every entry's cumulative counters, for exposition; its latency buckets are read from its histograms in place. */
  exportEntries(): ExportedEntry[] {
    return [...this.entries.values()].map((entry) => ({
      operation: entry.operation,
      collection: entry.collection,
      calls: entry.calls,
      errors: entry.errors,
      rows: entry.rows,
      slow: entry.slow,
      cacheHits: entry.cacheHits,
      cacheMisses: entry.cacheMisses,
      totalMs: entry.totalMs,
      addLatencyCountsAtOrBelow(limitsMs, into) {
        // The cumulative histogram is the retired one plus the live minute slots: their counts add up.
        entry.retired.addCountsAtOrBelow(limitsMs, into);
        for (const slot of entry.minutes) slot?.latency.addCountsAtOrBelow(limitsMs, into);
      },
    }));
  }

  /** Folds idle fingerprints (no call within the last hour) into `other`, making room for new ones. */
  compact(now: number = Date.now()): number {
    let folded = 0;
    for (const entry of [...this.entries.values()]) {
      if (entry.fingerprint === OTHER_FINGERPRINT || now - entry.lastAt < 60 * MINUTE_MS) continue;
      this.foldIntoOther(entry);
      folded += 1;
    }
    return folded;
  }

  /** Approximate bytes held by the entries, slots and histograms, V8's object overheads included (calibrated on Node 20). */
  byteSize(): number {
    let bytes = 0;
    for (const entry of this.entries.values()) {
      bytes += ENTRY_BYTES + entry.normalized.length * 2 + entry.retired.byteSize;
      for (const slot of [...entry.minutes, ...entry.fiveMinutes]) if (slot) bytes += SLOT_BYTES + slot.latency.byteSize;
    }
    return bytes;
  }

  /** Forgets everything recorded. */
  reset(): void {
    this.entries.clear();
    this.candidates.clear();
    this.coldest = undefined;
    this.overflowed = 0;
    this.promoted = 0;
  }

  private entryFor(observation: QueryObservation, at: number): Entry {
    const existing = this.entries.get(observation.fingerprint);
    if (existing) return existing;
    const tracked = this.entries.size - (this.entries.has(OTHER_FINGERPRINT) ? 1 : 0);
    if (tracked >= this.maxFingerprints && observation.fingerprint !== OTHER_FINGERPRINT) {
      this.overflowed += 1;
      return this.promoteOrOther(observation, at);
    }
    const entry = QueryRecorder.newEntry(observation.fingerprint, observation.normalized, observation.operation, observation.collection, at);
    this.entries.set(observation.fingerprint, entry);
    return entry;
  }

  /**
   * The table is full: the sample goes to `other`, unless its fingerprint has become busier than the
   * coldest tracked one (calls in the last five minutes), which is then folded into `other` to make room:
   * the table keeps the busiest K, not the first K seen. The promoted fingerprint starts with this sample;
   * what it did before stays in `other`.
   */
  private promoteOrOther(observation: QueryObservation, at: number): Entry {
    let candidate = this.candidates.get(observation.fingerprint);
    if (!candidate) {
      if (this.candidates.size >= MAX_CANDIDATES) this.candidates.clear();
      candidate = { calls: 0, normalized: observation.normalized, operation: observation.operation, collection: observation.collection };
      this.candidates.set(observation.fingerprint, candidate);
    }
    candidate.calls += 1;
    if (candidate.calls < MIN_PROMOTION_CALLS) return this.otherEntry(at);
    const coldest = this.coldestTracked(at);
    if (!coldest || candidate.calls <= coldest.recentCalls) return this.otherEntry(at);
    this.coldest = undefined;
    this.candidates.delete(observation.fingerprint);
    this.foldIntoOther(coldest.entry);
    this.promoted += 1;
    const entry = QueryRecorder.newEntry(observation.fingerprint, candidate.normalized, candidate.operation, candidate.collection, at);
    this.entries.set(observation.fingerprint, entry);
    return entry;
  }

  /** The tracked fingerprint with the fewest calls in the last five minutes (a scan, reused for a while). */
  private coldestTracked(at: number): { entry: Entry; recentCalls: number } | undefined {
    if (this.coldest && this.coldest.reuse > 0 && this.entries.get(this.coldest.entry.fingerprint) === this.coldest.entry) {
      this.coldest.reuse -= 1;
      return this.coldest;
    }
    const minute = Math.floor(at / MINUTE_MS);
    let coldest: Entry | undefined;
    let fewest = Number.POSITIVE_INFINITY;
    for (const entry of this.entries.values()) {
      if (entry.fingerprint === OTHER_FINGERPRINT) continue;
      let recent = 0;
      for (const slot of entry.minutes) if (slot && slot.index > minute - MINUTE_SLOTS) recent += slot.calls;
      if (recent < fewest || (recent === fewest && coldest !== undefined && entry.lastAt < coldest.lastAt)) {
        coldest = entry;
        fewest = recent;
      }
    }
    this.coldest = coldest ? { entry: coldest, recentCalls: fewest, reuse: COLDEST_REUSE_SAMPLES } : undefined;
    return this.coldest;
  }

  private otherEntry(at: number): Entry {
    let other = this.entries.get(OTHER_FINGERPRINT);
    if (!other) {
      other = QueryRecorder.newEntry(OTHER_FINGERPRINT, '(other fingerprints)', 'other', 'other', at);
      // `other` may exceed the cap by one: it is the bound's own overflow bucket.
      this.entries.set(OTHER_FINGERPRINT, other);
    }
    return other;
  }

  private foldIntoOther(entry: Entry): void {
    this.entries.delete(entry.fingerprint);
    const other = this.otherEntry(entry.lastAt);
    other.calls += entry.calls;
    other.totalMs += entry.totalMs;
    other.errors += entry.errors;
    other.rows += entry.rows;
    other.slow += entry.slow;
    other.cacheHits += entry.cacheHits;
    other.cacheMisses += entry.cacheMisses;
    other.retries += entry.retries;
    other.poolWaitMs += entry.poolWaitMs;
    other.poolWaitCount += entry.poolWaitCount;
    other.retired.merge(entry.retired);
    for (const slot of entry.minutes) if (slot) other.retired.merge(slot.latency);
    other.lastAt = Math.max(other.lastAt, entry.lastAt);
  }

  private windowSlot(entry: Entry, minutes: WindowMinutes, now: number): Slot {
    return QueryRecorder.mergeSlots(QueryRecorder.windowSlots(entry, minutes, now), minutes);
  }

  private static mergeSlots(slots: readonly Slot[], minutes: WindowMinutes): Slot {
    const merged = mergedSlot(QueryRecorder.windowPrecision(minutes));
    for (const slot of slots) mergeSlot(merged, slot);
    return merged;
  }

  /** The slots a window ending at `now` covers (see `window`). */
  private static windowSlots(entry: Entry, minutes: WindowMinutes, now: number): Slot[] {
    const minute = Math.floor(now / MINUTE_MS);
    const slots: Slot[] = [];
    const add = (slot: Slot | undefined, lowest: number, highest: number, unit: number): void => {
      if (!slot) return;
      const index = Math.floor(slot.index / unit);
      if (index >= lowest && index <= highest) slots.push(slot);
    };
    if (minutes === 60) {
      // Retired minutes live in the 5-minute ring, live ones still in the minute ring: never both.
      const period = Math.floor(minute / 5);
      for (const slot of entry.fiveMinutes) add(slot, period - FIVE_MINUTE_SLOTS + 1, period, 1);
      for (const slot of entry.minutes) add(slot, period - FIVE_MINUTE_SLOTS + 1, period, 5);
    } else {
      // The 1-minute window reaches back one whole minute; the 5-minute window is the ring.
      const reach = minutes === 1 ? 2 : minutes;
      for (const slot of entry.minutes) add(slot, minute - reach + 1, minute, 1);
    }
    return slots;
  }

  /** Windows of minute slots have their precision; the hour window is at the 5-minute slots' (coarser) precision. */
  private static windowPrecision(minutes: WindowMinutes): number {
    return minutes === 60 ? FIVE_MINUTE_PRECISION : MINUTE_PRECISION;
  }

  /** The cumulative histogram of an entry: the retired samples plus the live minute slots (a fresh merge). */
  private static cumulativeLatency(entry: Entry): LogLinearHistogram {
    const latency = entry.retired.clone();
    for (const slot of entry.minutes) if (slot) latency.merge(slot.latency);
    return latency;
  }

  private cumulativeStats(entry: Entry): FingerprintStats {
    const histogram = QueryRecorder.cumulativeLatency(entry);
    return {
      ...QueryRecorder.identity(entry),
      calls: entry.calls,
      errors: entry.errors,
      rows: entry.rows,
      ...QueryRecorder.latencyStats(histogram),
      slow: entry.slow,
      cacheHits: entry.cacheHits,
      cacheMisses: entry.cacheMisses,
      retries: entry.retries,
      meanPoolWaitMs: entry.poolWaitCount === 0 ? 0 : entry.poolWaitMs / entry.poolWaitCount,
      routes: { ...(entry.routes ?? {}) },
    };
  }

  private slotStats(entry: Entry, slot: Slot): FingerprintStats {
    return {
      ...QueryRecorder.identity(entry),
      calls: slot.calls,
      errors: slot.errors,
      rows: slot.rows,
      ...QueryRecorder.latencyStats(slot.latency),
      slow: slot.slow,
      cacheHits: slot.cacheHits,
      cacheMisses: slot.cacheMisses,
      retries: 0,
      meanPoolWaitMs: 0,
      routes: {},
    };
  }

  private static identity(entry: Entry): Pick<FingerprintStats, 'fingerprint' | 'normalized' | 'operation' | 'collection'> {
    return { fingerprint: entry.fingerprint, normalized: entry.normalized, operation: entry.operation, collection: entry.collection };
  }

  private static latencyStats(histogram: LogLinearHistogram): Pick<FingerprintStats, 'totalMs' | 'meanMs' | 'p50Ms' | 'p95Ms' | 'p99Ms' | 'p999Ms' | 'maxMs'> {
    const [p50Ms, p95Ms, p99Ms, p999Ms] = histogram.quantiles(REPORTED_QUANTILES) as [number, number, number, number];
    return { totalMs: histogram.totalMs, meanMs: histogram.mean, p50Ms, p95Ms, p99Ms, p999Ms, maxMs: histogram.max };
  }

  private static newEntry(fingerprint: Fingerprint, normalized: string, operation: string | undefined, collection: string | undefined, at: number): Entry {
    const minute = Math.floor(at / MINUTE_MS);
    const current = newSlot(minute, MINUTE_MS, MINUTE_PRECISION);
    const minutes = new Array<Slot | undefined>(MINUTE_SLOTS);
    minutes[minute % MINUTE_SLOTS] = current;
    return {
      fingerprint,
      normalized,
      operation: operation ?? 'unknown',
      collection: collection ?? '',
      calls: 0,
      totalMs: 0,
      errors: 0,
      rows: 0,
      slow: 0,
      cacheHits: 0,
      cacheMisses: 0,
      retries: 0,
      poolWaitMs: 0,
      poolWaitCount: 0,
      routes: null,
      lastAt: at,
      // 32-bit counts until it nears 2^32 values (merges widen it), which halves the largest array of an entry.
      retired: new LogLinearHistogram(LogLinearHistogram.SUB_BUCKETS, Uint32Array),
      current,
      minutes,
      fiveMinutes: new Array<Slot | undefined>(FIVE_MINUTE_SLOTS),
    };
  }
}
