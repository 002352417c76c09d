/** One running statement's deadline; `finish()` it when the statement ends, whichever way. */
export interface Deadline<T> {
  readonly subject: T;
  /** True once the deadline passed while the statement was still running (its expiry handler ran). */
  readonly expired: boolean;
  finish(): void;
}

class Entry<T> implements Deadline<T> {
  expired = false;
  finished = false;

  constructor(
    readonly subject: T,
    readonly at: number,
    private readonly lane: Lane<T>,
  ) {}

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.lane.live -= 1;
  }
}

// Entries of one timeout length, in start order: the first unfinished one always has the earliest deadline.
class Lane<T> {
  constructor(readonly timeoutMs: number) {}
  entries: Array<Entry<T>> = [];
  head = 0;
  live = 0;
  timer: NodeJS.Timeout | undefined;
}

// Finished entries are dropped lazily; past this many (and more than the live ones) the lane is compacted.
const COMPACT_AFTER = 1024;

/**
 * Deadlines of running statements, kept without one timer per statement: statements with the same
 * timeout length expire in the order they started, so one lane per length and one timer armed for
 * its earliest unfinished entry do the work of thousands of `setTimeout`/`clearTimeout` pairs.
 * `onExpire` runs once for each entry whose deadline passes before it finished.
 */
export class Deadlines<T> {
  private readonly lanes = new Map<number, Lane<T>>();

  constructor(private readonly onExpire: (deadline: Deadline<T>) => void) {}

  /** Starts the clock of `subject`: `onExpire` runs after `timeoutMs` unless `finish()` came first. */
  track(timeoutMs: number, subject: T): Deadline<T> {
    let lane = this.lanes.get(timeoutMs);
    if (!lane) {
      lane = new Lane<T>(timeoutMs);
      this.lanes.set(timeoutMs, lane);
    }
    const entry = new Entry(subject, performance.now() + timeoutMs, lane);
    lane.entries.push(entry);
    lane.live += 1;
    if (lane.timer === undefined) this.arm(lane, timeoutMs);
    else if (lane.entries.length - lane.head > COMPACT_AFTER && lane.entries.length - lane.head > 2 * lane.live) this.compact(lane);
    return entry;
  }

  /** Statements being timed right now. */
  get size(): number {
    let live = 0;
    for (const lane of this.lanes.values()) live += lane.live;
    return live;
  }

  /** Stops every timer (the statements' own ends still finish their entries). */
  close(): void {
    for (const lane of this.lanes.values()) clearTimeout(lane.timer);
    this.lanes.clear();
  }

  private arm(lane: Lane<T>, delayMs: number): void {
    lane.timer = setTimeout(() => this.expire(lane), Math.max(1, Math.ceil(delayMs)));
    lane.timer.unref();
  }

  private expire(lane: Lane<T>): void {
    lane.timer = undefined;
    const now = performance.now();
    const { entries } = lane;
    while (lane.head < entries.length) {
      const entry = entries[lane.head]!;
      if (!entry.finished) {
        if (entry.at > now) break;
        entry.expired = true;
        entry.finish();
        this.onExpire(entry);
      }
      lane.head += 1;
    }
    this.compact(lane);
    if (lane.entries.length > 0) this.arm(lane, lane.entries[0]!.at - now);
    else this.lanes.delete(lane.timeoutMs);
  }

  // Drops finished entries, keeping the start order of the rest.
  private compact(lane: Lane<T>): void {
    const kept: Array<Entry<T>> = [];
    for (let index = lane.head; index < lane.entries.length; index += 1) {
      const entry = lane.entries[index]!;
      if (!entry.finished) kept.push(entry);
    }
    lane.entries = kept;
    lane.head = 0;
  }
}
