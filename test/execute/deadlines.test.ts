import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines } from '../../src/execute/deadlines.js';
import type { Deadline } from '../../src/execute/deadlines.js';

describe('Deadlines (one timer per timeout length)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires exactly the entries still running when their deadline passes, in start order', () => {
    const expired: string[] = [];
    const deadlines = new Deadlines<string>((deadline) => expired.push(deadline.subject));
    const a = deadlines.track(100, 'a');
    vi.advanceTimersByTime(30);
    const b = deadlines.track(100, 'b');
    vi.advanceTimersByTime(30);
    const c = deadlines.track(100, 'c');
    b.finish();
    vi.advanceTimersByTime(45); // t = 105: a is due
    expect(expired).toEqual(['a']);
    expect(a.expired).toBe(true);
    vi.advanceTimersByTime(30); // t = 135: b would be due, but it finished
    expect(expired).toEqual(['a']);
    expect(b.expired).toBe(false);
    vi.advanceTimersByTime(30); // t = 165: c is due
    expect(expired).toEqual(['a', 'c']);
    expect(c.expired).toBe(true);
    expect(deadlines.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps separate lengths apart: a short timeout started later expires first', () => {
    const expired: string[] = [];
    const deadlines = new Deadlines<string>((deadline) => expired.push(deadline.subject));
    deadlines.track(1000, 'long');
    vi.advanceTimersByTime(10);
    deadlines.track(50, 'short');
    vi.advanceTimersByTime(60);
    expect(expired).toEqual(['short']);
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual(['short', 'long']);
  });

  it('stays bounded while one long statement runs under a stream of short ones, and still expires it', () => {
    const expired: Array<Deadline<number>> = [];
    const deadlines = new Deadlines<number>((deadline) => expired.push(deadline));
    const slow = deadlines.track(300_000, -1);
    for (let index = 0; index < 50_000; index += 1) deadlines.track(300_000, index).finish();
    expect(deadlines.size).toBe(1);
    const lanes = (deadlines as unknown as { lanes: Map<number, { entries: unknown[]; head: number }> }).lanes;
    const lane = lanes.get(300_000)!;
    expect(lane.entries.length - lane.head).toBeLessThanOrEqual(1026);
    vi.advanceTimersByTime(300_001);
    expect(expired).toEqual([slow]);
    expect(lanes.size).toBe(0);
  });

  it('runs the handler once, and finish() after expiry changes nothing', () => {
    const handler = vi.fn();
    const deadlines = new Deadlines<string>(handler);
    const entry = deadlines.track(10, 'x');
    vi.advanceTimersByTime(20);
    entry.finish();
    vi.advanceTimersByTime(100);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(deadlines.size).toBe(0);
  });
});
