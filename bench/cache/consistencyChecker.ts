import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createOptimizer } from '../../src/optimizer.js';
import type { Optimizer } from '../../src/optimizer.js';
import { Rng } from '../workloads/index.js';

const READS_PER_WRITE = 4;

/** Which cache set-up the checker runs against. */
export type ConsistencyMode = 'l1' | 'l1+l2' | 'two-instances';

/** Settings of one run of the checker. */
export interface ConsistencyOptions {
  mode: ConsistencyMode;
  databaseUrl: string;
  redisUrl?: string;
  /** Reads plus writes, in total. */
  operations: number;
  readers?: number;
  writers?: number;
  hotRows?: number;
  seed?: number;
  /** Writes go around qopt (to prove the checker catches stale reads). */
  bypassInvalidation?: boolean;
}

/** What one run found. */
export interface ConsistencyReport {
  mode: ConsistencyMode;
  operations: number;
  reads: number;
  writes: number;
  staleReads: number;
  /** The first few stale reads, for a person to look at. */
  examples: string[];
  cacheHits: number;
  hitRatio: number;
  seconds: number;
}

interface WriteRecord {
  kind: 'upsert' | 'delete';
  seq: number;
  endedAt: number;
}

interface PendingDelete {
  startedAt: number;
  seq: number | null;
}

/**
 * Tracks, per row, the last write that had completed, and judges reads: a read that began after a
 * write completed must show that write (or a later one). Sequence numbers come from the database
 * (`nextval` under the row lock), so they follow commit order per row.
 */
class History {
  private readonly last = new Map<number, WriteRecord>();
  private readonly deletes = new Map<number, PendingDelete[]>();
  staleReads = 0;
  readonly examples: string[] = [];

  completed(id: number, record: WriteRecord): void {
    const known = this.last.get(id);
    if (!known || known.seq < record.seq) this.last.set(id, record);
  }

  deleteStarted(id: number): PendingDelete {
    const pending: PendingDelete = { startedAt: performance.now(), seq: null };
    const list = this.deletes.get(id) ?? [];
    list.push(pending);
    this.deletes.set(id, list);
    return pending;
  }

  /** Which writes had completed when a read began: a copy, since later writes change the map. */
  snapshot(): Map<number, WriteRecord> {
    return new Map(this.last);
  }

  judge(before: Map<number, WriteRecord>, ids: readonly number[], seen: ReadonlyMap<number, number>, readEnded: number, what: string): void {
    for (const id of ids) {
      const floor = before.get(id);
      if (!floor) continue;
      const version = seen.get(id);
      let stale: boolean;
      if (version !== undefined) stale = version < floor.seq;
      else if (floor.kind === 'delete') stale = false;
      else {
        // Absent is fine only if a delete that began before the read ended may have come after the floor.
        const deletes = this.deletes.get(id) ?? [];
        stale = !deletes.some((d) => d.startedAt < readEnded && (d.seq === null || d.seq > floor.seq));
      }
      if (stale) {
        this.staleReads += 1;
        if (this.examples.length < 5) this.examples.push(`${what}: row ${id} read as ${version ?? 'absent'} after ${floor.kind} #${floor.seq} completed`);
      }
    }
  }
}

const READS = [
  { sql: 'SELECT id, v FROM hot WHERE id = $1', params: (id: number) => [id], ids: (id: number) => [id] },
  { sql: 'SELECT id, v FROM hot WHERE id = ANY($1) ORDER BY id', params: (id: number, n: number) => [[id, (id % n) + 1]], ids: (id: number, n: number) => [id, (id % n) + 1] },
  { sql: 'SELECT id, v FROM hot ORDER BY id', params: () => [], ids: (_id: number, n: number) => Array.from({ length: n }, (_, i) => i + 1) },
  { sql: 'SELECT v, id FROM hot WHERE id >= $1 AND id <= $1 + 1', params: (id: number) => [id], ids: (id: number) => [id, id + 1] },
];

/** Runs concurrent readers and writers on a few hot rows through qopt and counts stale reads. */
export async function runConsistencyCheck(options: ConsistencyOptions): Promise<ConsistencyReport> {
  const schemaName = `qopt_consistency_${randomBytes(4).toString('hex')}`;
  const prefix = `qopt_consistency_${randomBytes(4).toString('hex')}:`;
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schemaName}`);
  const url = new URL(options.databaseUrl);
  url.searchParams.set('options', `-c search_path=${schemaName}`);
  const redis = options.mode === 'l1' ? undefined : options.redisUrl;
  if (options.mode !== 'l1' && !redis) throw new Error(`mode ${options.mode} needs a Redis URL`);
  const make = () =>
    createOptimizer({
      database: { url: url.toString(), poolMax: 8 },
      redis: redis ? { url: redis, keyPrefix: prefix } : {},
      cache: { changeCapture: false },
      monitor: { enabled: false },
    });
  const instances: Optimizer[] = [await make()];
  if (options.mode === 'two-instances') instances.push(await make());
  const hotRows = options.hotRows ?? 5;
  const history = new History();
  const rng = new Rng(options.seed ?? 7);
  let reads = 0;
  let writes = 0;
  let remaining = options.operations;
  const started = performance.now();
  let stats: ReturnType<Optimizer['cache']['stats']>[] = [];
  try {
    const qo0 = instances[0]!;
    await qo0.query('CREATE SEQUENCE wseq');
    await qo0.query('CREATE TABLE hot (id int PRIMARY KEY, v bigint NOT NULL)');
    for (let id = 1; id <= hotRows; id += 1) {
      const row = await qo0.query<{ v: string }>("INSERT INTO hot VALUES ($1, nextval('wseq')) RETURNING v", [id]);
      history.completed(id, { kind: 'upsert', seq: Number(row.rows[0]!.v), endedAt: performance.now() });
    }
    const pick = () => instances[rng.int(0, instances.length - 1)]!;
    const write = async (qo: Optimizer): Promise<void> => {
      const id = rng.int(1, hotRows);
      const choice = rng.next();
      const run = <R>(sql: string, params: unknown[]) => (options.bypassInvalidation ? qo.driver.query<R>(sql, params) : qo.query<R>(sql, params));
      if (choice < 0.6) {
        const result = await run<{ v: string }>("UPDATE hot SET v = nextval('wseq') WHERE id = $1 RETURNING v", [id]);
        if (result.rows[0]) history.completed(id, { kind: 'upsert', seq: Number(result.rows[0].v), endedAt: performance.now() });
      } else if (choice < 0.8) {
        const pending = history.deleteStarted(id);
        const result = await run<{ s: string }>("DELETE FROM hot WHERE id = $1 RETURNING nextval('wseq') AS s", [id]);
        if (result.rows[0]) {
          pending.seq = Number(result.rows[0].s);
          history.completed(id, { kind: 'delete', seq: pending.seq, endedAt: performance.now() });
        } else pending.seq = -1;
      } else {
        const result = await run<{ v: string }>(
          "INSERT INTO hot VALUES ($1, nextval('wseq')) ON CONFLICT (id) DO UPDATE SET v = nextval('wseq') RETURNING v",
          [id],
        );
        history.completed(id, { kind: 'upsert', seq: Number(result.rows[0]!.v), endedAt: performance.now() });
      }
    };
    const read = async (qo: Optimizer): Promise<void> => {
      const id = rng.int(1, hotRows);
      const shape = READS[rng.int(0, READS.length - 1)]!;
      const before = history.snapshot();
      const result = await qo.query<{ id: number; v: string }>(shape.sql, shape.params(id, hotRows));
      const ended = performance.now();
      const seen = new Map(result.rows.map((row) => [row.id, Number(row.v)]));
      history.judge(before, shape.ids(id, hotRows).filter((x) => x <= hotRows), seen, ended, shape.sql);
    };
    // Reads are paced to at most READS_PER_WRITE per started write, so they stay interleaved with
    // the writes until the end instead of using up the budget while the (slower) writes lag.
    const worker = async (role: 'read' | 'write'): Promise<void> => {
      while (remaining > 0) {
        if (role === 'read' && reads >= READS_PER_WRITE * (writes + 1)) {
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        remaining -= 1;
        if (role === 'write') {
          writes += 1;
          await write(pick());
        } else {
          reads += 1;
          await read(pick());
        }
      }
    };
    await Promise.all([
      ...Array.from({ length: options.readers ?? 6 }, () => worker('read')),
      ...Array.from({ length: options.writers ?? 2 }, () => worker('write')),
    ]);
    stats = instances.map((qo) => qo.cache.stats());
  } finally {
    for (const qo of instances) await qo.close();
    await admin.query(`DROP SCHEMA ${schemaName} CASCADE`);
    await admin.end();
    if (redis) await dropPrefix(redis, prefix);
  }
  const seconds = (performance.now() - started) / 1000;
  const hits = stats.reduce((sum, s) => sum + s.l1.hits + (s.l2?.hits ?? 0), 0);
  const misses = stats.reduce((sum, s) => sum + s.misses, 0);
  return {
    mode: options.mode,
    operations: reads + writes,
    reads,
    writes,
    staleReads: history.staleReads,
    examples: history.examples,
    cacheHits: hits,
    hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
    seconds,
  };
}

async function dropPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
