import { describe, expect, it } from 'vitest';
import { RedisTimeoutError } from '../../src/index.js';
import { CallDeadlines } from '../../src/cache/tiers/callDeadlines.js';

describe('CallDeadlines', () => {
  it('passes values and errors through and forgets settled calls', async () => {
    const deadlines = new CallDeadlines(100);
    try {
      await expect(deadlines.track(Promise.resolve(7))).resolves.toBe(7);
      await expect(deadlines.track(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(deadlines.size).toBe(0);
    } finally {
      deadlines.close();
    }
  });

  it('rejects a call still pending at its deadline, and only that one', async () => {
    const deadlines = new CallDeadlines(100);
    try {
      const stuck = deadlines.track(new Promise<never>(() => undefined));
      const started = performance.now();
      let later!: (value: string) => void;
      const slow = deadlines.track(new Promise<string>((resolve) => (later = resolve)));
      deadlines.sweep(started + 50);
      expect(deadlines.size).toBe(2);
      deadlines.sweep(started + 101);
      await expect(stuck).rejects.toBeInstanceOf(RedisTimeoutError);
      await expect(slow).rejects.toThrow('Redis did not answer within 100 ms');
      later('too late');
      expect(deadlines.size).toBe(0);
    } finally {
      deadlines.close();
    }
  });

  it('rejects what is pending when closed', async () => {
    const deadlines = new CallDeadlines(60_000);
    const stuck = deadlines.track(new Promise<never>(() => undefined));
    deadlines.close();
    await expect(stuck).rejects.toBeInstanceOf(RedisTimeoutError);
  });
});
