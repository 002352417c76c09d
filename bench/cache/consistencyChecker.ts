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

/** One write as the checker saw it: its real-time interval and what it did to the row. */
interface WriteRecord {
  /** 'upsert' wrote version `seq`; 'delete' removed the row; 'none' changed nothing (no such row). */
  kind: 'upsert' | 'delete' | 'none' | 'pending';
  seq: number | null;
  startedAt: number;
  endedAt: number;
}

/**
 * Judges reads by real-time order (linearizability per row): a read must not return a state that
 * a write which completed before the read began had already replaced. Version numbers only name
 * states (`nextval` in an upsert's VALUES is taken before it waits on a conflicting delete, so
 * versions need not follow commit order); "replaced" is decided from the writes' intervals:
 * Y certainly came after X when Y started after X completed.
 */
class History {
  private readonly writes = new Map<number, WriteRecord[]>();
  private readonly bySeq = new Map<number, WriteRecord>();
  staleReads = 0;
  readonly examples: string[] = [];

  started(id: number): WriteRecord {
    const record: WriteRecord = { kind: 'pending', seq: null, startedAt: performance.now(), endedAt: Number.POSITIVE_INFINITY };
    const list = this.writes.get(id) ?? [];
    list.push(record);
    this.writes.set(id, list);
    return record;
  }

  completed(record: WriteRecord, kind: 'upsert' | 'delete' | 'none', seq: number | null): void {
    record.kind = kind;
    record.seq = seq;
    record.endedAt = performance.now();
    if (kind === 'upsert' && seq !== null) this.bySeq.set(seq, record);
  }

  judge(readStarted: number, readEnded: number, ids: readonly number[], seen: ReadonlyMap<number, number>, what: string): void {
    for (const id of ids) {
      const writes = this.writes.get(id) ?? [];
      const version = seen.get(id);
      const stale = version !== undefined ? this.staleVersion(writes, version, readStarted) : this.staleAbsence(writes, readStarted, readEnded);
      if (!stale) continue;
      this.staleReads += 1;
      if (this.examples.length < 5) this.examples.push(`${what}: row ${id} read as ${version ?? 'absent'}, replaced before the read began`);
    }
  }

  private staleVersion(writes: readonly WriteRecord[], version: number, readStarted: number): boolean {
    const producer = this.bySeq.get(version);
    // A version whose write has not completed yet may be the newest state.
    if (!producer) return false;
    return writes.some((y) => y !== producer && (y.kind === 'upsert' || y.kind === 'delete') && y.endedAt < readStarted && y.startedAt > producer.endedAt);
  }

  private staleAbsence(writes: readonly WriteRecord[], readStarted: number, readEnded: number): boolean {
    return writes.some(
      (y) =>
        y.kind === 'upsert' &&
        y.endedAt < readStarted &&
        // Absent is fine if some delete may have committed after y: it did not finish before y began, and began before the read ended.
        !writes.some((d) => (d.kind === 'delete' || d.kind === 'pending') && !(d.endedAt < y.startedAt) && d.startedAt < readEnded),
    );
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
  const runStarted = performance.now();
  let stats: ReturnType<Optimizer['cache']['stats']>[] = [];
  try {
    const qo0 = instances[0]!;
    await qo0.query('CREATE SEQUENCE wseq');
    await qo0.query('CREATE TABLE hot (id int PRIMARY KEY, v bigint NOT NULL)');
    for (let id = 1; id <= hotRows; id += 1) {
      const record = history.started(id);
      const row = await qo0.query<{ v: string }>("INSERT INTO hot VALUES ($1, nextval('wseq')) RETURNING v", [id]);
      history.completed(record, 'upsert', Number(row.rows[0]!.v));
    }
    const pick = () => instances[rng.int(0, instances.length - 1)]!;
    const write = async (qo: Optimizer): Promise<void> => {
      const id = rng.int(1, hotRows);
      const choice = rng.next();
      const run = <R>(sql: string, params: unknown[]) => (options.bypassInvalidation ? qo.driver.query<R>(sql, params) : qo.query<R>(sql, params));
      const record = history.started(id);
      if (choice < 0.6) {
        const result = await run<{ v: string }>("UPDATE hot SET v = nextval('wseq') WHERE id = $1 RETURNING v", [id]);
        history.completed(record, result.rows[0] ? 'upsert' : 'none', result.rows[0] ? Number(result.rows[0].v) : null);
      } else if (choice < 0.8) {
        const result = await run<{ s: string }>('DELETE FROM hot WHERE id = $1 RETURNING id', [id]);
        history.completed(record, result.rows[0] ? 'delete' : 'none', null);
      } else {
        const result = await run<{ v: string }>(
          "INSERT INTO hot VALUES ($1, nextval('wseq')) ON CONFLICT (id) DO UPDATE SET v = nextval('wseq') RETURNING v",
          [id],
        );
        history.completed(record, 'upsert', Number(result.rows[0]!.v));
      }
    };
    const read = async (qo: Optimizer): Promise<void> => {
      const id = rng.int(1, hotRows);
      const shape = READS[rng.int(0, READS.length - 1)]!;
      const started = performance.now();
      const result = await qo.query<{ id: number; v: string }>(shape.sql, shape.params(id, hotRows));
      const ended = performance.now();
      const seen = new Map(result.rows.map((row) => [row.id, Number(row.v)]));
      history.judge(started, ended, shape.ids(id, hotRows).filter((x) => x <= hotRows), seen, shape.sql);
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
  const seconds = (performance.now() - runStarted) / 1000;
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
