import { RedisTimeoutError } from '../errors.js';

interface Pending {
  readonly deadline: number;
  readonly fail: (error: Error) => void;
}

/**
 * Command timeouts for one Redis tier with a single sweeping timer. ioredis's `commandTimeout` arms
 * and clears a timer per command: ~5 µs of CPU on a ~100 µs cache hit, most of the cost qopt adds to
 * a raw GET. Here a call costs one promise and a Set entry; a stuck call is rejected between
 * `timeoutMs` and `timeoutMs + timeoutMs / 4` after it started (the sweep interval).
 */
export class CallDeadlines {
  private readonly pending = new Set<Pending>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly timeoutMs: number) {
    this.timer = setInterval(() => this.sweep(performance.now()), Math.max(1, Math.floor(timeoutMs / 4)));
    this.timer.unref();
  }

  /**
   * `call`, rejected with RedisTimeoutError if it has not settled in time (the command itself is not
   * cancelled). `onFailure` sees the error (the call's or the timeout) first, before the rejection.
   */
  track<T>(call: Promise<T>, onFailure?: (error: Error) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (error: Error): void => {
        onFailure?.(error);
        reject(error);
      };
      const entry: Pending = { deadline: performance.now() + this.timeoutMs, fail };
      this.pending.add(entry);
      call.then(
        (value) => {
          // Settled already when the deadline passed first.
          if (this.pending.delete(entry)) resolve(value);
        },
        (error: unknown) => {
          if (this.pending.delete(entry)) fail(error as Error);
        },
      );
    });
  }

  /** Calls started and not settled. */
  get size(): number {
    return this.pending.size;
  }

  /** Rejects every call whose deadline passed; a Set iterates in insertion order, which is deadline order. */
  sweep(now: number): void {
    for (const entry of this.pending) {
      if (entry.deadline > now) return;
      this.pending.delete(entry);
      entry.fail(new RedisTimeoutError(this.timeoutMs));
    }
  }

  /** Stops the timer; calls still pending are rejected at once. */
  close(): void {
    clearInterval(this.timer);
    this.sweep(Number.POSITIVE_INFINITY);
  }
}
