import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll } from 'cockatiel';
import type { CircuitBreakerPolicy } from 'cockatiel';
import { redisGlobOf } from '../glob.js';
import { emptyTierStats } from './memory.js';
import type { TierStats } from './memory.js';

/** Settings of the shared tier. */
export interface RedisTierOptions {
  url: string;
  keyPrefix: string;
  commandTimeoutMs: number;
  /** Consecutive failures that open the breaker. */
  breakerFailures?: number;
  /** After this long an open breaker lets one call through. */
  breakerHalfOpenMs?: number;
  /** Told when Redis becomes unusable and when it is usable again. */
  onAvailability?: (available: boolean) => void;
}

/** What a lookup in L2 found: the raw counters (always) and the entry bytes (on a hit). */
export interface RedisLookup {
  /** Identifies this Redis data set: a Redis that lost its data gets a new one, so old snapshots never match. */
  epoch: string;
  counters: number[];
  bytes: Buffer | null;
}

interface ScriptClient extends Redis {
  qoptGetBuffer(entryKey: string, genKey: string, epoch: string, ...fields: string[]): Promise<[Buffer, Array<Buffer | null>, Buffer | null]>;
  qoptStore(entryKey: string, genKey: string, value: Buffer, ttlMs: number, epoch: string, fieldCount: number, ...fieldsThenValues: string[]): Promise<number>;
  qoptBump(genKey: string, epoch: string, ...fields: string[]): Promise<number>;
}

// Reads the entry and the counters it depends on in one round trip.
const GET_SCRIPT = `
redis.call('HSETNX', KEYS[2], 'epoch', ARGV[1])
local e = redis.call('HGET', KEYS[2], 'epoch')
local g = redis.call('HMGET', KEYS[2], unpack(ARGV, 2))
local v = redis.call('GET', KEYS[1])
return {e, g, v}`;

// The stale-set guard: the entry is written only if no counter moved since the read began.
const STORE_SCRIPT = `
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[3] then return 0 end
local n = tonumber(ARGV[4])
local current = redis.call('HMGET', KEYS[2], unpack(ARGV, 5, 4 + n))
for i = 1, n do
  if (tonumber(current[i]) or 0) ~= tonumber(ARGV[4 + n + i]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

const BUMP_SCRIPT = `
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
for i = 2, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
return #ARGV`;

function counterOf(raw: Buffer | string | null | undefined): number {
  return raw === null || raw === undefined ? 0 : Number(raw.toString());
}

/**
 * L2: Redis shared by every instance. Entries and counters share one hash tag so the scripts stay
 * cluster-safe. Every call has a short timeout and goes through a breaker; callers treat a failure
 * as a miss and go on with L1 and the database.
 */
export class RedisTier {
  readonly stats = emptyTierStats();
  readonly client: ScriptClient;
  readonly genKey: string;
  private readonly entryPrefix: string;
  private readonly leasePrefix: string;
  private readonly breaker: CircuitBreakerPolicy;
  private available = false;
  private everAvailable = false;
  private closing = false;

  constructor(private readonly options: RedisTierOptions) {
    const tag = `${options.keyPrefix}{qopt}`;
    this.genKey = `${tag}:gen`;
    this.entryPrefix = `${tag}:r:`;
    this.leasePrefix = `${tag}:lease:`;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(options.commandTimeoutMs * 4, 1000),
      maxRetriesPerRequest: 0,
      retryStrategy: () => 500,
    }) as ScriptClient;
    this.client.defineCommand('qoptGet', { numberOfKeys: 2, lua: GET_SCRIPT });
    this.client.defineCommand('qoptStore', { numberOfKeys: 2, lua: STORE_SCRIPT });
    this.client.defineCommand('qoptBump', { numberOfKeys: 1, lua: BUMP_SCRIPT });
    // Without a listener an 'error' event would crash the process; the breaker and metrics record it.
    this.client.on('error', () => undefined);
    this.client.on('ready', () => this.setAvailable(this.breaker.state !== CircuitState.Open));
    this.client.on('close', () => this.setAvailable(false));
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: options.breakerHalfOpenMs ?? 1000,
      breaker: new ConsecutiveBreaker(options.breakerFailures ?? 3),
    });
    this.breaker.onBreak(() => this.setAvailable(false));
    this.breaker.onReset(() => this.setAvailable(this.client.status === 'ready'));
  }

  /** Connects; a Redis that is down is not an error (the tier reconnects in the background). */
  async start(): Promise<void> {
    try {
      await this.client.connect();
    } catch {
      this.stats.errors += 1;
    }
  }

  /** True while Redis answers and the breaker is closed. */
  get isAvailable(): boolean {
    return this.available;
  }

  private setAvailable(available: boolean): void {
    if (available === this.available || this.closing) return;
    this.available = available;
    // The first connection is not a recovery: nothing could have been missed before it.
    if (available && !this.everAvailable) {
      this.everAvailable = true;
      return;
    }
    this.options.onAvailability?.(available);
  }

  /** Runs one Redis call through the breaker; throws when Redis failed or the breaker is open. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.breaker.execute(call);
    } catch (error) {
      this.stats.errors += 1;
      throw error;
    }
  }

  /** The Redis key of an entry. */
  entryKey(key: string): string {
    return this.entryPrefix + key;
  }

  /** Entry bytes and the counters of `fields`, read atomically. */
  async lookup(key: string, fields: readonly string[]): Promise<RedisLookup> {
    const [epoch, counters, bytes] = await this.run(() => this.client.qoptGetBuffer(this.entryKey(key), this.genKey, randomUUID(), ...fields));
    return { epoch: `redis:${epoch.toString()}`, counters: counters.map(counterOf), bytes };
  }

  /** Stores an entry if the counters still hold the values the read began with; false when a write got there first. */
  async storeIfUnchanged(key: string, bytes: Buffer, ttlMs: number, seen: RedisLookup, fields: readonly string[]): Promise<boolean> {
    const values = seen.counters.map(String);
    const epoch = seen.epoch.slice('redis:'.length);
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const stored = await this.run(() => this.client.qoptStore(this.entryKey(key), this.genKey, bytes, ttl, epoch, fields.length, ...fields, ...values));
    if (stored === 1) this.stats.stores += 1;
    return stored === 1;
  }

  /** Increments counters in Redis (one script, one round trip). */
  async bump(fields: readonly string[]): Promise<void> {
    if (fields.length === 0) return;
    await this.run(() => this.client.qoptBump(this.genKey, randomUUID(), ...fields));
  }

  /** Deletes entries whose key matches a glob (case-insensitive); returns how many. */
  async deleteMatching(glob: string): Promise<number> {
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.run(() => this.client.scan(cursor, 'MATCH', redisGlobOf(this.entryPrefix) + redisGlobOf(glob), 'COUNT', 500));
      cursor = next;
      if (keys.length > 0) removed += await this.run(() => this.client.unlink(...keys));
    } while (cursor !== '0');
    return removed;
  }

  /** Number of entries and their bytes (a SCAN: for the CLI, not the hot path). */
  async usage(): Promise<{ entries: number; bytes: number }> {
    let entries = 0;
    let bytes = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.run(() => this.client.scan(cursor, 'MATCH', `${this.entryPrefix}*`, 'COUNT', 500));
      cursor = next;
      entries += keys.length;
      for (const key of keys) bytes += await this.run(() => this.client.strlen(key));
    } while (cursor !== '0');
    return { entries, bytes };
  }

  /** Takes the cross-instance lease of a key (single-flight); true if this caller may run the query. */
  async acquireLease(key: string, ttlMs: number, owner: string): Promise<boolean> {
    const reply = await this.run(() => this.client.set(`${this.leasePrefix}${key}`, owner, 'PX', ttlMs, 'NX'));
    return reply === 'OK';
  }

  /** Gives a lease back. */
  async releaseLease(key: string): Promise<void> {
    await this.run(() => this.client.del(`${this.leasePrefix}${key}`));
  }

  /** Tier stats. */
  snapshotStats(): TierStats {
    return { ...this.stats };
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.closing = true;
    this.client.disconnect();
  }
}
