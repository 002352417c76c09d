import type { QoptConfig } from '../config.js';
import type { QueryResultSet } from '../db/driver.js';
import type { QueryCacheOptions } from '../queryOptions.js';
import type { SqlAnalysis } from '../sql/analyze.js';
import type pg from 'pg';
import { InvalidationBus } from './bus.js';
import { ChangeListener } from './capture/listener.js';
import type { InvalidationMessage } from './bus.js';
import { EntryCodec, estimatedEncodedBytes, freezeResult } from './codec.js';
import { Exemplars } from './exemplars.js';
import type { StoredEntry } from './codec.js';
import { ALL_COUNTER, readDependencies, tableCounters, tagCounter, writeBumps } from './dependencies.js';
import type { GenerationRef } from './dependencies.js';
import { counterLayoutOf, LocalGenerations, sameSnapshot, snapshotFromCounters } from './generations.js';
import type { CounterLayout, GenerationSnapshot } from './generations.js';
import { CacheKeys } from './keys.js';
import type { CacheKey, EntryKeys } from './keys.js';
import { globToRegExp } from './glob.js';
import { FileTier } from './tiers/file.js';
import { MemoryTier } from './tiers/memory.js';
import type { TierStats } from './tiers/memory.js';
import { RedisTier } from './tiers/redis.js';
import type { RedisLookup } from './tiers/redis.js';

/** Runs one query for the cache (a miss, a refresh or a warm-up). */
export type QueryRunner = (sql: string, params: readonly unknown[]) => Promise<unknown>;

/** Everything `qo.cache.stats()` reports. */
export interface CacheStats {
  enabled: boolean;
  l1: TierStats;
  l2: (TierStats & { available: boolean }) | null;
  l3: TierStats | null;
  /** Reads that ran on the database although cacheable (all tiers missed). */
  misses: number;
  /** Reads the cache was told to skip (`cache: false`) or could not cache. */
  bypassed: number;
  /** Misses that joined a load already running for the same key. */
  coalesced: number;
  /** Expired entries served while one refresh ran. */
  staleServed: number;
  /** Stores refused because a write committed while the read ran. */
  storesRefused: number;
  invalidations: number;
  /** Database time the hits did not spend (the sum of the original read times). */
  savedMs: number;
  /** Hits of all tiers over all cacheable reads. */
  hitRatio: number;
  bus: { published: number; received: number; ackTimeouts: number; errors: number } | null;
  capture: { listening: boolean; notifications: number; reconnects: number; errors: number } | null;
  /** Invalidations that could not reach Redis and wait to be replayed. */
  pendingBumps: number;
  warnings: string[];
}

/** What `QueryCache.optimize()` did and advises. */
export interface CacheOptimizeReport {
  /** The memory tier before and after dropping what could no longer be served. */
  l1: { entriesBefore: number; entriesAfter: number; bytesBefore: number; bytesAfter: number; dropped: number };
  /** Findings from the counters, each with the setting to change. */
  advice: string[];
}

interface Flight {
  /** Null while the load is still starting (its first synchronous steps). */
  promise: Promise<QueryResultSet> | null;
  refs: readonly GenerationRef[];
  snapshot: GenerationSnapshot;
}

const LEASE_POLL_MS = 5;
const NO_SHARED_LOOKUP: { lookup: RedisLookup | null; hit: StoredEntry | null } = Object.freeze({ lookup: null, hit: null });
const MAX_WARNINGS = 20;

function stillValid(local: LocalGenerations, refs: readonly GenerationRef[], snapshot: readonly number[]): boolean {
  for (let i = 0; i < refs.length; i += 1) {
    const ref = refs[i]!;
    const value = ref.sub === undefined ? local.value(ref.add) : local.value(ref.add) - local.value(ref.sub);
    if (value !== snapshot[i]) return false;
  }
  return true;
}

const EXEMPLAR_SHAPES = 1000;
const EXEMPLARS_PER_SHAPE = 8;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The multi-tier result cache: L1 memory → L2 Redis → L3 files, then the database. An entry is
 * served only while the generation counters of what it read are those snapshotted before its
 * database read began, so a write that committed meanwhile can neither be missed nor overwritten.
 */
export class QueryCache {
  readonly enabled: boolean;
  readonly local = new LocalGenerations();
  readonly memory: MemoryTier;
  readonly redis: RedisTier | null;
  readonly file: FileTier | null;
  readonly bus: InvalidationBus | null;
  /** Listens for change-capture notifications (PostgreSQL only, once `startCapture` ran). */
  capture: ChangeListener | null = null;
  private readonly codec: EntryCodec;
  private readonly keys: CacheKeys;
  /** Recent instances (text + parameters) of each cached query shape: what warm-up re-runs. */
  readonly exemplars = new Exemplars(EXEMPLAR_SHAPES, EXEMPLARS_PER_SHAPE);
  private readonly flights = new Map<string, Flight>();
  private readonly pendingBumps = new Set<string>();
  private readonly counters = { misses: 0, bypassed: 0, coalesced: 0, staleServed: 0, storesRefused: 0, invalidations: 0, savedMs: 0 };
  private readonly warnings: string[] = [];
  private readonly defaultTtlMs: number;
  private readonly leaseMs: number;

  constructor(
    config: QoptConfig,
    private readonly scope: string,
    private readonly runner: QueryRunner,
  ) {
    this.enabled = config.cache.enabled;
    this.keys = new CacheKeys(scope);
    this.defaultTtlMs = config.cache.defaultTtlSeconds * 1000;
    this.leaseMs = Math.max(config.redis.commandTimeoutMs * 8, 2000);
    this.codec = new EntryCodec(config.cache.compression, config.cache.compressionThresholdBytes);
    this.memory = new MemoryTier(config.cache.l1SizeMb * 1024 * 1024);
    this.file = this.enabled && config.cache.l3Path ? new FileTier(config.cache.l3Path, config.cache.l3SizeMb * 1024 * 1024) : null;
    if (!this.enabled || !config.redis.url) {
      this.redis = null;
      this.bus = null;
      return;
    }
    this.redis = new RedisTier({
      url: config.redis.url,
      keyPrefix: config.redis.keyPrefix,
      commandTimeoutMs: config.redis.commandTimeoutMs,
      onAvailability: (available) => this.onRedisAvailability(available),
    });
    this.bus = new InvalidationBus(
      this.redis,
      config.redis.keyPrefix,
      config.redis.commandTimeoutMs * 4,
      (message) => this.applyLocally(message),
      () => this.dropUnsafeL1('the invalidation subscription reconnected; L1 dropped'),
    );
  }

  /** Connects Redis and subscribes to invalidations; a Redis that is down is a warning, not an error. */
  async start(): Promise<void> {
    if (!this.redis || !this.bus) return;
    await this.redis.start();
    await this.bus.start();
    if (!this.redis.isAvailable) this.warn('Redis is unreachable: going on with L1 and the database');
  }

  /**
   * Serves a cacheable read from the tiers, or runs it once (single-flight) and stores the result
   * if no write to what it read committed while it ran.
   */
  async read<R>(
    analysis: SqlAnalysis,
    params: readonly unknown[],
    options: false | QueryCacheOptions | undefined,
    run: () => Promise<QueryResultSet<R>>,
  ): Promise<QueryResultSet<R>> {
    if (!this.enabled || options === false || !analysis.cacheable || (this.capture !== null && this.capture.isBlind(analysis.readTables))) {
      this.counters.bypassed += 1;
      return run();
    }
    const key = this.keys.keysOf(analysis, params, options?.role);
    const cached = this.memory.get(key.local);
    if (cached) {
      if (stillValid(this.local, cached.refs, cached.snapshot)) {
        const now = Date.now();
        if (now < cached.expiresAt) {
          this.memory.stats.hits += 1;
          this.counters.savedMs += cached.costMs;
          return cached.result as QueryResultSet<R>;
        }
        if (now < cached.staleUntil) {
          this.counters.staleServed += 1;
          this.memory.stats.hits += 1;
          this.refreshInBackground(key, analysis, params, options, run as () => Promise<QueryResultSet>);
          return cached.result as QueryResultSet<R>;
        }
      }
      this.memory.delete(key.local);
    }
    this.memory.stats.misses += 1;
    return (await this.load(key, analysis, params, options, run as () => Promise<QueryResultSet>)) as QueryResultSet<R>;
  }

  /**
   * Like `read`, for a result that is no single statement's (a hybrid query's): kept under `name` (within this
   * cache's database scope), valid while neither what `analysis` reads with `params` nor any of `tables` (by
   * unqualified name) has seen a committed write. No stale-while-revalidate, tags or warm-up exemplars.
   */
  async readDerived<R>(
    name: string,
    dependsOn: { analysis: SqlAnalysis; params: readonly unknown[]; tables: readonly string[] },
    run: () => Promise<QueryResultSet<R>>,
  ): Promise<QueryResultSet<R>> {
    const { analysis, params } = dependsOn;
    const tables = dependsOn.tables.map((table) => table.split('.').pop()!.replace(/"/g, ''));
    if (!this.enabled || !analysis.cacheable || (this.capture !== null && this.capture.isBlind([...analysis.readTables, ...tables]))) {
      this.counters.bypassed += 1;
      return run();
    }
    // \u0003 keeps these keys apart from statement keys (`scope \u0001 canonical SQL \u0001 parameters`).
    const key: EntryKeys = { local: `\u0003${name}`, full: `${this.scope}\u0003${name}` as CacheKey };
    const cached = this.memory.get(key.local);
    if (cached && stillValid(this.local, cached.refs, cached.snapshot) && Date.now() < cached.expiresAt) {
      this.memory.stats.hits += 1;
      this.counters.savedMs += cached.costMs;
      return cached.result as QueryResultSet<R>;
    }
    if (cached) this.memory.delete(key.local);
    this.memory.stats.misses += 1;
    const dependencies = () => [...readDependencies(analysis, params), ...tables.flatMap((table) => tableCounters(table).map((add) => ({ add })))];
    return (await this.loadOnce(key, dependencies, undefined, run as () => Promise<QueryResultSet>)) as QueryResultSet<R>;
  }

  private load(
    key: EntryKeys,
    analysis: SqlAnalysis,
    params: readonly unknown[],
    options: QueryCacheOptions | undefined,
    run: () => Promise<QueryResultSet>,
  ): Promise<QueryResultSet> {
    const dependencies = () => {
      this.exemplars.note(analysis.fingerprint, key.local, analysis.text, params, { role: options?.role, statementTimeoutMs: options?.statementTimeoutMs });
      return readDependencies(analysis, params, options?.tags ?? []);
    };
    return this.loadOnce(key, dependencies, options, run);
  }

  /** Joins the load of `key` already running, or starts one (single-flight); `dependencies` is asked only when one starts. */
  private loadOnce(
    key: EntryKeys,
    dependencies: () => readonly GenerationRef[],
    options: QueryCacheOptions | undefined,
    run: () => Promise<QueryResultSet>,
  ): Promise<QueryResultSet> {
    const running = this.flights.get(key.local);
    // Joining a load is safe only if no write committed since it began: its result would predate that write.
    // A read of the same key from inside the load's own start (no promise yet) runs its own: joining would wait for itself.
    if (running?.promise && stillValid(this.local, running.refs, running.snapshot)) {
      this.counters.coalesced += 1;
      return running.promise;
    }
    const refs = dependencies();
    const snapshot = this.local.snapshot(refs);
    const flight: Flight = { promise: null, refs, snapshot };
    // Registered before the load starts: the load removes it when it lands.
    this.flights.set(key.local, flight);
    const promise = this.fill(key, refs, snapshot, options, run, flight);
    flight.promise = promise;
    return promise;
  }

  private async fill(
    key: EntryKeys,
    refs: readonly GenerationRef[],
    localSnapshot: GenerationSnapshot,
    options: QueryCacheOptions | undefined,
    run: () => Promise<QueryResultSet>,
    flight: Flight,
  ): Promise<QueryResultSet> {
    try {
      const layout = counterLayoutOf(refs);
      // Tiers that are not configured are not awaited: each await is a turn of the microtask queue.
      let seen = this.redis ? await this.lookupShared(key, layout) : NO_SHARED_LOOKUP;
      if (seen.hit) return this.promote(key, refs, localSnapshot, seen.hit, seen.lookup!.bytes!.length, null);
      const fromFile = this.file ? await this.lookupFile(key, refs, layout, seen.lookup) : null;
      if (fromFile) {
        const toRedis = seen.lookup ? { bytes: fromFile.bytes, lookup: seen.lookup, fields: layout.fields } : null;
        return this.promote(key, refs, localSnapshot, fromFile.entry, fromFile.bytes.length, toRedis);
      }
      let leased = false;
      if (seen.lookup && this.redis) {
        const owner = this.bus!.instanceId;
        leased = await this.redis.acquireLease(key.full, this.leaseMs, owner).catch(() => true);
        const deadline = Date.now() + this.leaseMs;
        while (!leased && Date.now() < deadline) {
          await sleep(LEASE_POLL_MS);
          seen = await this.lookupShared(key, layout);
          if (seen.hit) return this.promote(key, refs, localSnapshot, seen.hit, seen.lookup!.bytes!.length, null);
          if (!seen.lookup) break;
          leased = await this.redis.acquireLease(key.full, this.leaseMs, owner).catch(() => true);
        }
      }
      try {
        return await this.runAndStore(key, refs, localSnapshot, seen.lookup, layout, options, run);
      } finally {
        if (leased && this.redis) this.redis.releaseLease(key.full).catch(() => undefined);
      }
    } finally {
      // Landed: later misses start a load of their own. Here, not in a finally() every caller would wait through.
      if (this.flights.get(key.local) === flight) this.flights.delete(key.local);
    }
  }

  private async runAndStore(
    key: EntryKeys,
    refs: readonly GenerationRef[],
    localSnapshot: GenerationSnapshot,
    lookup: RedisLookup | null,
    layout: CounterLayout,
    options: QueryCacheOptions | undefined,
    run: () => Promise<QueryResultSet>,
  ): Promise<QueryResultSet> {
    this.counters.misses += 1;
    const started = performance.now();
    const result = freezeResult(await run());
    const costMs = performance.now() - started;
    const ttlMs = (options?.ttlSeconds ?? 0) > 0 ? options!.ttlSeconds! * 1000 : this.defaultTtlMs;
    const swrMs = Math.max(0, (options?.staleWhileRevalidateSeconds ?? 0) * 1000);
    const now = Date.now();
    const entry: StoredEntry = {
      result,
      snapshot: lookup ? snapshotFromCounters(layout, lookup.counters) : localSnapshot,
      epoch: lookup ? lookup.epoch : this.local.epoch,
      expiresAt: now + ttlMs,
      staleUntil: swrMs > 0 ? now + ttlMs + swrMs : 0,
      costMs,
    };
    const toRedis = lookup !== null && this.redis !== null;
    const toFile = this.file !== null && (lookup !== null || this.redis === null);
    // With memory the only tier a result goes to, its size is estimated: encoding it would cost more than the read.
    const bytes = toRedis || toFile ? this.codec.encode(entry) : null;
    this.storeL1(key, refs, localSnapshot, entry, bytes?.length ?? estimatedEncodedBytes(result));
    if (toRedis && bytes) {
      this.redis!.storeIfUnchanged(key.full, bytes, ttlMs + swrMs, lookup!, layout.fields)
        .then((stored) => {
          if (!stored) this.counters.storesRefused += 1;
        })
        .catch(() => undefined);
    }
    if (toFile && bytes) void this.file!.set(key.full, bytes);
    return result;
  }

  private storeL1(key: EntryKeys, refs: readonly GenerationRef[], localSnapshot: GenerationSnapshot, entry: StoredEntry, bytes: number): void {
    // The stale-set guard for L1: a write applied here since the read began means the result may predate it.
    if (!this.memory.accepts(bytes)) return;
    if (!stillValid(this.local, refs, localSnapshot)) {
      this.counters.storesRefused += 1;
      return;
    }
    this.memory.set(key.local, { fullKey: key.full, result: entry.result, refs, snapshot: localSnapshot, expiresAt: entry.expiresAt, staleUntil: entry.staleUntil, costMs: entry.costMs, bytes });
  }

  private async lookupShared(key: EntryKeys, layout: CounterLayout): Promise<{ lookup: RedisLookup | null; hit: StoredEntry | null }> {
    if (!this.redis?.isAvailable) return { lookup: null, hit: null };
    let lookup: RedisLookup;
    try {
      lookup = await this.redis.lookup(key.full, layout.fields);
    } catch {
      return { lookup: null, hit: null };
    }
    if (lookup.bytes) {
      const entry = this.codec.decode(lookup.bytes);
      if (entry.epoch === lookup.epoch && Date.now() < entry.expiresAt && sameSnapshot(entry.snapshot, snapshotFromCounters(layout, lookup.counters))) {
        this.redis.stats.hits += 1;
        this.counters.savedMs += entry.costMs;
        return { lookup, hit: entry };
      }
    }
    this.redis.stats.misses += 1;
    return { lookup, hit: null };
  }

  private async lookupFile(
    key: EntryKeys,
    refs: readonly GenerationRef[],
    layout: CounterLayout,
    lookup: RedisLookup | null,
  ): Promise<{ entry: StoredEntry; bytes: Buffer } | null> {
    if (!this.file) return null;
    // With Redis configured but unreachable, a file entry's snapshot cannot be checked: skip the tier.
    if (this.redis && !lookup) return null;
    const bytes = await this.file.get(key.full);
    const entry = bytes ? this.codec.decode(bytes) : null;
    const current = lookup ? snapshotFromCounters(layout, lookup.counters) : this.local.snapshot(refs);
    const epoch = lookup ? lookup.epoch : this.local.epoch;
    if (!bytes || !entry || entry.epoch !== epoch || Date.now() >= entry.expiresAt || !sameSnapshot(entry.snapshot, current)) {
      this.file.stats.misses += 1;
      return null;
    }
    this.file.stats.hits += 1;
    this.counters.savedMs += entry.costMs;
    return { entry, bytes };
  }

  private promote(
    key: EntryKeys,
    refs: readonly GenerationRef[],
    localSnapshot: GenerationSnapshot,
    entry: StoredEntry,
    bytes: number,
    toRedis: { bytes: Buffer; lookup: RedisLookup; fields: readonly string[] } | null,
  ): QueryResultSet {
    // Freezing costs a walk over the rows: only worth it when L1 will hand the same object out again.
    const result = this.memory.accepts(bytes) ? freezeResult(entry.result) : entry.result;
    this.storeL1(key, refs, localSnapshot, { ...entry, result }, bytes);
    if (toRedis && this.redis) {
      this.redis.storeIfUnchanged(key.full, toRedis.bytes, Math.max(1, entry.expiresAt - Date.now()), toRedis.lookup, toRedis.fields).catch(() => undefined);
    }
    return result;
  }

  private refreshInBackground(
    key: EntryKeys,
    analysis: SqlAnalysis,
    params: readonly unknown[],
    options: QueryCacheOptions | undefined,
    run: () => Promise<QueryResultSet>,
  ): void {
    if (this.flights.has(key.local)) return;
    this.memory.stats.misses += 1;
    this.load(key, analysis, params, options, run).catch((error: unknown) => this.warn(`stale-while-revalidate refresh failed: ${String(error)}`));
  }

  /** Invalidates what committed statements may have changed (called after COMMIT); resolves when every instance knows. */
  async onCommittedWrites(writes: readonly SqlAnalysis[], params?: ReadonlyArray<readonly unknown[] | undefined>): Promise<void> {
    if (!this.enabled) return;
    const bumps = new Set<string>();
    writes.forEach((write, i) => {
      for (const bump of writeBumps(write, params?.[i])) bumps.add(bump);
    });
    if (bumps.size > 0) await this.invalidate({ bumps: [...bumps] });
  }

  /** Every cached result that read one of these tables (by unqualified name) is invalid from now on. */
  invalidateTables(tables: readonly string[]): Promise<void> {
    const names = tables.map((name) => name.split('.').pop()!.replace(/"/g, ''));
    return this.invalidate({ bumps: names.flatMap(tableCounters) });
  }

  /** Every result stored with this tag is invalid from now on. */
  invalidateTag(tag: string): Promise<void> {
    return this.invalidate({ bumps: [tagCounter(tag)] });
  }

  /** Every cached result is invalid from now on, in every tier and instance. */
  invalidateAll(): Promise<void> {
    return this.invalidate({ bumps: [ALL_COUNTER] });
  }

  /**
   * Drops entries whose key matches a glob (`*`, `?`) in every tier and instance. A key is
   * `<database target>\u0001<canonical SQL>\u0001<parameters JSON>`, so `*FROM sheets*` works.
   */
  async invalidatePattern(glob: string): Promise<number> {
    let removed = await this.dropMatching(glob);
    if (this.redis?.isAvailable) removed += await this.redis.deleteMatching(glob).catch(() => 0);
    await this.invalidate({ bumps: [], pattern: glob });
    return removed;
  }

  private async dropMatching(glob: string): Promise<number> {
    const pattern = globToRegExp(glob);
    let removed = this.memory.deleteWhere((entry) => pattern.test(entry.fullKey));
    if (this.file) removed += await this.file.deleteWhere((key) => pattern.test(key));
    return removed;
  }

  private applyLocally(message: InvalidationMessage): void {
    this.local.bump(message.bumps);
    if (message.pattern !== undefined) void this.dropMatching(message.pattern);
  }

  private async invalidate(message: InvalidationMessage): Promise<void> {
    this.counters.invalidations += 1;
    this.applyLocally(message);
    if (!this.redis || !this.bus) return;
    if (!this.redis.isAvailable) {
      for (const bump of message.bumps) this.pendingBumps.add(bump);
      return;
    }
    try {
      await this.redis.bump(message.bumps);
      await this.bus.publish(message);
    } catch {
      // Kept and replayed when Redis is back: until then no instance uses L2, so nothing stale is served from it.
      for (const bump of message.bumps) this.pendingBumps.add(bump);
      this.warn('an invalidation could not reach Redis; it will be replayed when Redis is back');
    }
  }

  private onRedisAvailability(available: boolean): void {
    this.dropUnsafeL1(available ? 'Redis is back: L1 dropped (it may have missed invalidations)' : 'Redis is unreachable: L1 dropped, going on with L1 and the database');
    if (available) void this.replayPendingBumps();
  }

  private async replayPendingBumps(): Promise<void> {
    if (this.pendingBumps.size === 0 || !this.redis || !this.bus) return;
    const bumps = [...this.pendingBumps];
    this.pendingBumps.clear();
    try {
      await this.redis.bump(bumps);
      await this.bus.publish({ bumps });
    } catch {
      for (const bump of bumps) this.pendingBumps.add(bump);
    }
  }

  private dropUnsafeL1(reason: string): void {
    // Bumping `all` (not clearing) also stops in-flight reads from storing into L1.
    this.local.bump([ALL_COUNTER]);
    this.memory.clear();
    this.warn(reason);
  }

  private warn(message: string): void {
    this.warnings.push(`${new Date().toISOString()} ${message}`);
    if (this.warnings.length > MAX_WARNINGS) this.warnings.shift();
    process.emitWarning(message, { code: 'QOPT_CACHE' });
  }

  /**
   * Compacts the memory tier — drops entries that can never be served again (a committed write
   * invalidated them, or their time-to-live and stale window are over) instead of waiting for the LRU
   * to push them out — and reads the counters for settings worth changing.
   */
  optimize(): CacheOptimizeReport {
    const before = this.memory.snapshotStats();
    const now = Date.now();
    const dropped = this.memory.deleteWhere((entry) => !stillValid(this.local, entry.refs, entry.snapshot) || now >= Math.max(entry.expiresAt, entry.staleUntil));
    const after = this.memory.snapshotStats();
    const stats = this.stats();
    const advice: string[] = [];
    const lookups = stats.misses + stats.l1.hits + (stats.l2?.hits ?? 0) + (stats.l3?.hits ?? 0);
    if (lookups >= 100 && stats.hitRatio < 0.5) {
      advice.push(`hit ratio ${(stats.hitRatio * 100).toFixed(1)} % over ${lookups} cacheable reads: keep cache.warmUp on, or give hot reads a longer ttlSeconds; many invalidations per write (${stats.invalidations}) mean the cached tables are written often`);
    }
    if (stats.l1.stores >= 100 && stats.l1.evictions > stats.l1.stores * 0.1) {
      advice.push(`L1 evicted ${stats.l1.evictions} of ${stats.l1.stores} stored results: raise cache.l1SizeMb (L1_CACHE_SIZE_MB, now ${Math.round(this.memory.maxBytes / 1048576)} MB)`);
    }
    if (stats.misses >= 100 && stats.storesRefused > stats.misses * 0.1) {
      advice.push(`${stats.storesRefused} of ${stats.misses} loads were not stored because a write committed meanwhile: those tables change faster than their reads repeat; consider cache: false for their reads`);
    }
    if (stats.l2 && !stats.l2.available) advice.push('Redis (L2) is unreachable: instances serve from L1 and the database only and cannot hear each other\'s invalidations');
    return {
      l1: { entriesBefore: before.entries, entriesAfter: after.entries, bytesBefore: before.bytes, bytesAfter: after.bytes, dropped },
      advice,
    };
  }

  /** True when this instance's memory tier would answer the read now (valid and not expired). */
  isCachedLocally(analysis: SqlAnalysis, params: readonly unknown[], role?: string): boolean {
    if (!this.enabled || !analysis.cacheable) return false;
    const cached = this.memory.peek(this.keys.keysOf(analysis, params, role).local);
    return cached !== undefined && stillValid(this.local, cached.refs, cached.snapshot) && Date.now() < cached.expiresAt;
  }

  /** Runs queries once so their results are cached; returns how many ran without error. */
  async warmUp(queries: ReadonlyArray<{ sql: string; params?: readonly unknown[] }>): Promise<number> {
    let warmed = 0;
    for (const query of queries) {
      try {
        await this.runner(query.sql, query.params ?? []);
        warmed += 1;
      } catch (error) {
        this.warn(`warm-up of "${query.sql.slice(0, 60)}" failed: ${String(error)}`);
      }
    }
    return warmed;
  }

  /** Listens for NOTIFYs of the capture triggers on its own connection; every notification invalidates that table. */
  async startCapture(connection: pg.ClientConfig): Promise<void> {
    if (!this.enabled || this.capture) return;
    this.capture = new ChangeListener(connection, {
      onChange: (table) => this.invalidateTables([table]),
      onResync: (tables) => this.invalidateTables(tables),
    });
    await this.capture.start();
  }

  /** Counters per tier and for the whole cache. */
  stats(): CacheStats {
    const l1 = this.memory.snapshotStats();
    const l2 = this.redis ? { ...this.redis.snapshotStats(), available: this.redis.isAvailable } : null;
    const l3 = this.file?.snapshotStats() ?? null;
    const hits = l1.hits + (l2?.hits ?? 0) + (l3?.hits ?? 0);
    const total = hits + this.counters.misses;
    return {
      enabled: this.enabled,
      l1,
      l2,
      l3,
      ...this.counters,
      hitRatio: total === 0 ? 0 : hits / total,
      bus: this.bus ? { ...this.bus.stats } : null,
      capture: this.capture ? { listening: this.capture.isListening, ...this.capture.stats } : null,
      pendingBumps: this.pendingBumps.size,
      warnings: [...this.warnings],
    };
  }

  /** Closes Redis connections. */
  async close(): Promise<void> {
    await this.capture?.close();
    await this.bus?.close();
    await this.redis?.close();
  }
}
