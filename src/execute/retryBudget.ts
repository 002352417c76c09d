/** Settings of retries: attempts, capped exponential backoff with full jitter, and the budget. */
export interface RetryOptions {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Retries allowed as a fraction of the queries in the last second. */
  budgetRatio: number;
  /** Retries always allowed per second, so a quiet service can still retry. */
  budgetMinPerSecond: number;
}

/**
 * A retry budget (as in Finagle and gRPC): retries may add at most `budgetRatio` of the recent
 * request rate, so a database in trouble does not get multiplied load from every caller retrying.
 * Counted in one-second windows; cheap enough to call on every query.
 */
export class RetryBudget {
  private windowStart = 0;
  private requests = 0;
  private retriesInWindow = 0;
  private retries = 0;
  private exhausted = 0;

  constructor(private readonly options: RetryOptions) {}

  /** Counts one first attempt. */
  recordRequest(now: number): void {
    this.roll(now);
    this.requests += 1;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryAcquire(now: number): boolean {
    this.roll(now);
    const allowed = this.options.budgetMinPerSecond + this.requests * this.options.budgetRatio;
    if (this.retriesInWindow + 1 > allowed) {
      this.exhausted += 1;
      return false;
    }
    this.retriesInWindow += 1;
    this.retries += 1;
    return true;
  }

  /** The delay before retry number `attempt` (1-based): full jitter over a capped exponential. */
  delayMs(attempt: number): number {
    const cap = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1));
    return Math.random() * cap;
  }

  /** Retries made, and retries refused because the budget was spent. */
  counts(): { retries: number; budgetExhausted: number } {
    return { retries: this.retries, budgetExhausted: this.exhausted };
  }

  private roll(now: number): void {
    if (now - this.windowStart < 1000) return;
    this.windowStart = now;
    this.requests = 0;
    this.retriesInWindow = 0;
  }
}
