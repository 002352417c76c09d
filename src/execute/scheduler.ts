import { LogLinearHistogram } from '../monitor/histogram.js';
import type { QueryPriority } from '../queryOptions.js';
import { QueueFullError } from './errors.js';

const RANKS: Record<QueryPriority, number> = { high: 2, normal: 1, low: 0 };
const CLASSES: readonly QueryPriority[] = ['high', 'normal', 'low'];

interface Waiter {
  rank: number;
  enqueuedAt: number;
  grant: (waitedMs: number) => void;
}

/** Settings of the scheduler. */
export interface SchedulerOptions {
  /** Queries running at once (MAX_CONCURRENT_QUERIES). */
  concurrency: number;
  /** Callers allowed to wait; one more gets QueueFullError. */
  maxQueueSize: number;
  /** Waiting this long lifts a query one priority class. */
  agingMs: number;
}

/** What the scheduler reports to the monitor. */
export interface SchedulerMetrics {
  active: number;
  queued: number;
  queuedByPriority: Record<QueryPriority, number>;
  granted: number;
  rejectedQueueFull: number;
  /** Time spent waiting for a slot, over every granted query (ms). */
  waitMs: { count: number; mean: number; p50: number; p99: number; max: number };
}

/**
 * A concurrency limit with a bounded priority queue. Each class is a FIFO, so its head is its oldest
 * waiter; the next slot goes to the head whose rank plus aging (one class per `agingMs` waited) is
 * highest, which keeps low priority from starving under a steady stream of high.
 */
export class Scheduler {
  private active = 0;
  private readonly queues: Record<QueryPriority, Waiter[]> = { high: [], normal: [], low: [] };
  private queuedCount = 0;
  private granted = 0;
  private rejectedQueueFull = 0;
  private readonly waits = new LogLinearHistogram();

  constructor(private readonly options: SchedulerOptions) {}

  /** Resolves when the query may run (undefined: it may run now); the caller must call `release()` exactly once afterwards. */
  acquire(priority: QueryPriority = 'normal'): Promise<void> | undefined {
    let granted = false;
    let resolve: (() => void) | undefined;
    this.schedule(priority, () => {
      granted = true;
      resolve?.();
    });
    return granted ? undefined : new Promise<void>((done) => (resolve = done));
  }

  /**
   * Calls `start` once a slot is free: at once, or synchronously from the `release()` that frees one
   * (no promise hop between a slot freeing and the next statement asking for a connection). `start`
   * must not throw; it owns the slot and must `release()` it exactly once. It is told how long it
   * waited in the queue (ms; 0 when a slot was free at once).
   */
  schedule(priority: QueryPriority = 'normal', start: (waitedMs: number) => void): void {
    if (this.active < this.options.concurrency && this.queuedCount === 0) {
      this.active += 1;
      this.granted += 1;
      this.waits.record(0);
      start(0);
      return;
    }
    if (this.queuedCount >= this.options.maxQueueSize) {
      this.rejectedQueueFull += 1;
      throw new QueueFullError(this.queuedCount);
    }
    this.queues[priority].push({ rank: RANKS[priority], enqueuedAt: performance.now(), grant: start });
    this.queuedCount += 1;
  }

  /** Frees a slot and hands it to the next waiter, if any. */
  release(): void {
    this.active -= 1;
    this.dispatch();
  }

  private dispatch(): void {
    while (this.active < this.options.concurrency && this.queuedCount > 0) {
      const now = performance.now();
      const waiter = this.queues[this.nextClass(now)].shift()!;
      this.queuedCount -= 1;
      this.active += 1;
      this.granted += 1;
      const waited = now - waiter.enqueuedAt;
      this.waits.record(waited);
      waiter.grant(waited);
    }
  }

  // The class whose head goes next: the highest rank plus aging; with one class waiting, that class.
  private nextClass(now: number): QueryPriority {
    const { high, normal, low } = this.queues;
    if (high.length === this.queuedCount) return 'high';
    if (normal.length === this.queuedCount) return 'normal';
    if (low.length === this.queuedCount) return 'low';
    let best: QueryPriority = 'normal';
    let bestScore = -Infinity;
    for (const priority of CLASSES) {
      const head = this.queues[priority][0];
      if (!head) continue;
      const score = head.rank + Math.floor((now - head.enqueuedAt) / this.options.agingMs);
      if (score > bestScore) {
        best = priority;
        bestScore = score;
      }
    }
    return best;
  }

  /** A snapshot for the monitor. */
  metrics(): SchedulerMetrics {
    const waits = this.waits;
    return {
      active: this.active,
      queued: this.queuedCount,
      queuedByPriority: { high: this.queues.high.length, normal: this.queues.normal.length, low: this.queues.low.length },
      granted: this.granted,
      rejectedQueueFull: this.rejectedQueueFull,
      waitMs: {
        count: waits.count,
        mean: waits.count ? waits.mean : 0,
        p50: waits.count ? waits.quantile(0.5) : 0,
        p99: waits.count ? waits.quantile(0.99) : 0,
        max: waits.count ? waits.max : 0,
      },
    };
  }
}
