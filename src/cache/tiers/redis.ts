import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll } from 'cockatiel';
import type { CircuitBreakerPolicy } from 'cockatiel';
import { redisGlobOf } from '../glob.js';
import { CallDeadlines } from './callDeadlines.js';
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
  qoptStore(numberOfKeys: number, ...keysThenArgs: Array<string | Buffer>): Promise<number>;
  qoptBump(numberOfKeys: number, ...keysThenArgs: string[]): Promise<number>;
}

// The stale-set guard: the entry is written only if no counter moved since the read began.
// KEYS = entry, epoch, counters…; ARGV = value, ttl ms, epoch, counter values…
const STORE_SCRIPT = `
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
for i = 3, #KEYS do
  if (tonumber(redis.call('GET', KEYS[i])) or 0) ~= tonumber(ARGV[i + 1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// KEYS = epoch, counters…; ARGV = a fresh epoch, used only if Redis has none (it lost its data).
const BUMP_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
for i = 2, #KEYS do redis.call('INCR', KEYS[i]) end
return #KEYS`;

// Node's timers run on the event loop's cached clock, which may lag Date.now(), cockatiel's clock.
const PROBE_MARGIN_MS = 5;

// Counters are INCR'd integers: their decimal digits, read without making a string.
function counterOf(raw: Buffer | null | undefined): number {
  if (raw === null || raw === undefined) return 0;
  let value = 0;
  for (let i = 0; i < raw.length; i += 1) {
    const digit = raw[i]! - 48;
    if (digit < 0 || digit > 9) return Number(raw.toString());
    value = value * 10 + digit;
  }
  return value;
}

/**
 * L2: Redis shared by every instance. Entries and counters share one hash tag so the scripts stay
 * cluster-safe. Every call has a short timeout and goes through a breaker; callers treat a failure
 * as a miss and go on with L1 and the database.
 */
export class RedisTier {
  readonly stats = emptyTierStats();
  readonly client: ScriptClient;
  private readonly epochKey: string;
  private readonly counterPrefix: string;
  private readonly entryPrefix: string;
  private readonly leasePrefix: string;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly deadlines: CallDeadlines;
  // True while the breaker is closed and the last call succeeded: calls then skip cockatiel's async wrappers
  // (~3 µs of a ~100 µs hit). Each failure of such a call goes to the breaker as if it had run it, and calls
  // go through it again until one succeeds, so its consecutive-failure count is the one it would keep itself.
  private healthy = true;
  private readonly onFailure = (error: Error): void => this.failed(error);
  // The epoch's bytes as last read and their text: the epoch changes only when Redis loses its data.
  private epochBytes: Buffer | null = null;
  private epochText = '';
  private readonly counterKeyLists = new WeakMap<readonly string[], string[]>();
  private probe: NodeJS.Timeout | null = null;
  private available = false;
  private everAvailable = false;
  private closing = false;

  constructor(private readonly options: RedisTierOptions) {
    const tag = `${options.keyPrefix}{qopt}`;
    this.epochKey = `${tag}:epoch`;
    this.counterPrefix = `${tag}:g:`;
    this.entryPrefix = `${tag}:r:`;
    this.leasePrefix = `${tag}:lease:`;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      // No `commandTimeout`: it arms a timer per command. `run` bounds every call with one sweeping timer.
      connectTimeout: Math.max(options.commandTimeoutMs * 4, 1000),
      maxRetriesPerRequest: 0,
      retryStrategy: () => 500,
    }) as ScriptClient;
    this.client.defineCommand('qoptStore', { lua: STORE_SCRIPT });
    this.client.defineCommand('qoptBump', { lua: BUMP_SCRIPT });
    // Without a listener an 'error' event would crash the process; the breaker and metrics record it.
    this.client.on('error', () => undefined);
    this.client.on('ready', () => this.setAvailable(this.breaker.state !== CircuitState.Open));
    this.client.on('close', () => this.setAvailable(false));
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: options.breakerHalfOpenMs ?? 1000,
      breaker: new ConsecutiveBreaker(options.breakerFailures ?? 3),
    });
    this.breaker.onBreak(() => {
      this.setAvailable(false);
      this.scheduleProbe();
    });
    this.breaker.onReset(() => {
      this.healthy = true;
      this.setAvailable(this.client.status === 'ready');
    });
    this.deadlines = new CallDeadlines(options.commandTimeoutMs);
  }

  // While the tier is unavailable nothing calls Redis, so an open breaker would never be tried again:
  // after the half-open delay one PING goes through it. Until the breaker is closed again, another follows:
  // a failed PING re-opens it, and a timer may fire a little before cockatiel's clock lets a call through.
  private scheduleProbe(): void {
    if (this.probe !== null || this.closing) return;
    this.probe = setTimeout(() => {
      this.probe = null;
      this.run(() => this.client.ping()).catch(() => {
        if (this.breaker.state !== CircuitState.Closed) this.scheduleProbe();
      });
    }, (this.options.breakerHalfOpenMs ?? 1000) + PROBE_MARGIN_MS);
    this.probe.unref();
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

  /**
   * Runs one Redis call within the command timeout and through the breaker; throws when Redis failed,
   * did not answer in time (RedisTimeoutError) or the breaker is open.
   */
  run<T>(call: () => Promise<T>): Promise<T> {
    if (!this.healthy) return this.runThroughBreaker(call);
    let started: Promise<T>;
    try {
      started = call();
    } catch (error) {
      this.failed(error as Error);
      return Promise.reject(error as Error);
    }
    return this.deadlines.track(started, this.onFailure);
  }

  // A call started on the fast path failed: every such failure is counted by the breaker as one of its own
  // calls (it may open now), so many calls failing at once count as many, as they would through it.
  private failed(error: Error): void {
    this.stats.errors += 1;
    this.healthy = false;
    if (this.breaker.state === CircuitState.Closed) this.breaker.execute(() => Promise.reject(error)).catch(() => undefined);
  }

  private async runThroughBreaker<T>(call: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await this.breaker.execute(() => this.deadlines.track(call()));
    } catch (error) {
      this.stats.errors += 1;
      throw error;
    }
    if (this.breaker.state === CircuitState.Closed) this.healthy = true;
    return value;
  }

  /** The Redis key of an entry. */
  entryKey(key: string): string {
    return this.entryPrefix + key;
  }

  // Memoized per fields array: a read's counter layout is built once per statement where it can be.
  private counterKeys(fields: readonly string[]): string[] {
    let keys = this.counterKeyLists.get(fields);
    if (keys === undefined) {
      keys = fields.map((field) => this.counterPrefix + field);
      this.counterKeyLists.set(fields, keys);
    }
    return keys;
  }

  /**
   * Entry bytes, the data-set epoch and the counters of `fields` in one MGET (one slot: one hash
   * tag). A plain MGET, not a script: on this kind of machine EVALSHA cost ~300 µs more under load.
   */
  async lookup(key: string, fields: readonly string[]): Promise<RedisLookup> {
    const keys = [this.entryKey(key), this.epochKey, ...this.counterKeys(fields)];
    let values = await this.run(() => this.client.mgetBuffer(keys));
    if (values[1] === null) {
      // No epoch: a new or wiped Redis. Create one so that snapshots taken from now on can match.
      await this.run(() => this.client.set(this.epochKey, randomUUID(), 'NX'));
      values = await this.run(() => this.client.mgetBuffer(keys));
    }
    const counters = new Array<number>(values.length - 2);
    for (let i = 2; i < values.length; i += 1) counters[i - 2] = counterOf(values[i]);
    return { epoch: this.epochOf(values[1] ?? null), bytes: values[0] ?? null, counters };
  }

  // Still none (deleted again meanwhile): the store script refuses an entry whose epoch Redis lacks.
  private epochOf(bytes: Buffer | null): string {
    if (bytes === null) return 'redis:missing';
    if (this.epochBytes === null || !bytes.equals(this.epochBytes)) {
      // A copy: a reply may be a slice of a larger socket buffer.
      this.epochBytes = Buffer.from(bytes);
      this.epochText = `redis:${bytes.toString()}`;
    }
    return this.epochText;
  }

  /** Stores an entry if the counters still hold the values the read began with; false when a write got there first. */
  async storeIfUnchanged(key: string, bytes: Buffer, ttlMs: number, seen: RedisLookup, fields: readonly string[]): Promise<boolean> {
    const values = seen.counters.map(String);
    const epoch = seen.epoch.slice('redis:'.length);
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const keys = [this.entryKey(key), this.epochKey, ...this.counterKeys(fields)];
    const stored = await this.run(() => this.client.qoptStore(keys.length, ...keys, bytes, String(ttl), epoch, ...values));
    if (stored === 1) this.stats.stores += 1;
    return stored === 1;
  }

  /** Increments counters in Redis (one script, one round trip). */
  async bump(fields: readonly string[]): Promise<void> {
    if (fields.length === 0) return;
    const keys = [this.epochKey, ...this.counterKeys(fields)];
    await this.run(() => this.client.qoptBump(keys.length, ...keys, randomUUID()));
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

  /** Publishes on a channel (through the timeout and the breaker); resolves to the number of receivers. */
  publish(channel: string, message: string): Promise<number> {
    return this.run(() => this.client.publish(channel, message));
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.probe !== null) clearTimeout(this.probe);
    this.deadlines.close();
    this.client.disconnect();
  }
}
