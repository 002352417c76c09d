import type { ExecutionTarget } from './executionTarget.js';

/** A WAL position as a number of bytes ("16/B374D848" → 0x16B374D848). */
export function parseLsn(text: string): bigint {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

interface ReplicaState {
  target: ExecutionTarget;
  replayLsn: bigint | undefined;
  lagBytes: number | undefined;
}

/** What the router reports per replica. */
export interface ReplicaStatus {
  name: string;
  lagBytes: number | null;
  usable: boolean;
}

/**
 * Sends writes (and reads with no replica fit to serve them) to the primary, and reads round robin
 * to replicas that are healthy and not lagging. A session that wrote reads only from replicas that
 * have replayed past its write's WAL position (read-your-writes), else from the primary.
 */
export class ReplicaRouter {
  private readonly replicas: ReplicaState[];
  private readonly sessionWrites = new Map<string, bigint>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private primaryLsn: bigint | undefined;

  constructor(
    readonly primary: ExecutionTarget,
    replicas: readonly ExecutionTarget[],
    private readonly maxLagBytes: number,
    checkEveryMs: number,
  ) {
    this.replicas = replicas.map((target) => ({ target, replayLsn: undefined, lagBytes: undefined }));
    if (this.replicas.length > 0) {
      void this.refresh();
      this.timer = setInterval(() => void this.refresh(), checkEveryMs);
      this.timer.unref();
    }
  }

  /** The replicas, in configuration order. */
  get replicaTargets(): ExecutionTarget[] {
    return this.replicas.map((replica) => replica.target);
  }

  /** True when there is at least one replica. */
  get hasReplicas(): boolean {
    return this.replicas.length > 0;
  }

  /** The target for a statement: replicas only for reads. */
  pick(read: boolean, session: string | undefined): ExecutionTarget {
    if (!read || this.replicas.length === 0) return this.primary;
    const mustReach = session === undefined ? undefined : this.sessionWrites.get(session);
    for (let tried = 0; tried < this.replicas.length; tried += 1) {
      const replica = this.replicas[this.next]!;
      this.next = (this.next + 1) % this.replicas.length;
      if (this.usable(replica) && (mustReach === undefined || (replica.replayLsn !== undefined && replica.replayLsn >= mustReach))) {
        return replica.target;
      }
    }
    return this.primary;
  }

  /** Records that `session` wrote at the primary's current WAL position. */
  async recordWrite(session: string): Promise<void> {
    const result = await this.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn', [], { timeoutMs: 0, maxRows: 1, maxBytes: 1024 });
    const lsn = parseLsn(result.rows[0]!.lsn);
    this.sessionWrites.set(session, lsn);
  }

  /** Polls the primary's WAL position and each replica's replay position. */
  async refresh(): Promise<void> {
    const limits = { timeoutMs: 2000, maxRows: 1, maxBytes: 1024 };
    try {
      const primary = await this.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn', [], limits);
      this.primaryLsn = parseLsn(primary.rows[0]!.lsn);
    } catch {
      this.primaryLsn = undefined;
    }
    await Promise.all(
      this.replicas.map(async (replica) => {
        try {
          const result = await replica.target.query<{ lsn: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS lsn', [], limits);
          const lsn = result.rows[0]?.lsn;
          replica.replayLsn = lsn ? parseLsn(lsn) : undefined;
        } catch {
          replica.replayLsn = undefined;
        }
        replica.lagBytes =
          replica.replayLsn !== undefined && this.primaryLsn !== undefined ? Math.max(0, Number(this.primaryLsn - replica.replayLsn)) : undefined;
      }),
    );
  }

  /** Each replica's lag and whether reads go to it. */
  status(): ReplicaStatus[] {
    return this.replicas.map((replica) => ({ name: replica.target.name, lagBytes: replica.lagBytes ?? null, usable: this.usable(replica) }));
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private usable(replica: ReplicaState): boolean {
    return !replica.target.breaker.refusing && replica.lagBytes !== undefined && replica.lagBytes <= this.maxLagBytes;
  }
}
