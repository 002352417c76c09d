import { QuotaExceededError } from './errors.js';

/** Per-user limits (DEFAULT_USER_QUERY_LIMIT_PER_HOUR, DEFAULT_USER_CONCURRENT_QUERIES). */
export interface UserQuotaLimits {
  queriesPerHour: number;
  concurrentQueries: number;
}

interface UserUsage {
  windowStart: number;
  queriesInWindow: number;
  running: number;
}

const HOUR_MS = 3_600_000;

/**
 * Counts each user's queries in the current hour window and their running queries. A refused query
 * is not counted, so a rejected burst does not eat the next hour's allowance.
 */
export class UserQuotas {
  private readonly usage = new Map<string, UserUsage>();
  private rejected = 0;

  constructor(private readonly limits: UserQuotaLimits) {}

  /** Admits one query for `user` or throws QuotaExceededError; pair every admit with `finish`. */
  admit(user: string, now = Date.now()): void {
    let usage = this.usage.get(user);
    if (!usage) {
      usage = { windowStart: now, queriesInWindow: 0, running: 0 };
      this.usage.set(user, usage);
    }
    if (now - usage.windowStart >= HOUR_MS) {
      usage.windowStart = now;
      usage.queriesInWindow = 0;
    }
    if (usage.running >= this.limits.concurrentQueries) {
      this.rejected += 1;
      throw new QuotaExceededError(user, 'concurrentQueries', this.limits.concurrentQueries);
    }
    if (usage.queriesInWindow >= this.limits.queriesPerHour) {
      this.rejected += 1;
      throw new QuotaExceededError(user, 'queriesPerHour', this.limits.queriesPerHour);
    }
    usage.queriesInWindow += 1;
    usage.running += 1;
  }

  /** Marks one of `user`'s queries as finished. */
  finish(user: string): void {
    const usage = this.usage.get(user);
    if (usage) usage.running -= 1;
  }

  /** Queries refused so far. */
  get rejectedCount(): number {
    return this.rejected;
  }
}
