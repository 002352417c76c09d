import { describe, expect, it } from 'vitest';
import { QueueFullError } from '../../src/execute/errors.js';
import { Scheduler } from '../../src/execute/scheduler.js';

describe('Scheduler', () => {
  it('grants a free slot at once and queues beyond the concurrency limit', async () => {
    const scheduler = new Scheduler({ concurrency: 1, maxQueueSize: 10, agingMs: 60_000 });
    expect(scheduler.acquire('normal')).toBeUndefined();
    const waiting = scheduler.acquire('normal');
    expect(waiting).toBeInstanceOf(Promise);
    expect(scheduler.metrics()).toMatchObject({ active: 1, queued: 1 });
    scheduler.release();
    await waiting;
    expect(scheduler.metrics()).toMatchObject({ active: 1, queued: 0, granted: 2 });
  });

  it('hands freed slots to high before normal before low, first come first served within a class', async () => {
    const scheduler = new Scheduler({ concurrency: 1, maxQueueSize: 10, agingMs: 60_000 });
    scheduler.acquire('normal');
    const order: string[] = [];
    const waits = (['low', 'normal', 'high', 'low', 'high'] as const).map((priority, index) =>
      scheduler.acquire(priority)!.then(() => order.push(`${priority}${index}`)),
    );
    for (let i = 0; i < 5; i += 1) {
      scheduler.release();
      await Promise.resolve();
      await Promise.resolve();
    }
    await Promise.all(waits);
    expect(order).toEqual(['high2', 'high4', 'normal1', 'low0', 'low3']);
  });

  it('ages a waiting low-priority query above fresh high-priority ones so it never starves', async () => {
    const scheduler = new Scheduler({ concurrency: 1, maxQueueSize: 10, agingMs: 10 });
    scheduler.acquire('normal');
    const order: string[] = [];
    const low = scheduler.acquire('low')!.then(() => order.push('low'));
    await new Promise((resolve) => setTimeout(resolve, 40));
    const high = scheduler.acquire('high')!.then(() => order.push('high'));
    scheduler.release();
    await low;
    scheduler.release();
    await high;
    expect(order).toEqual(['low', 'high']);
  });

  it('refuses with QueueFullError once the queue holds maxQueueSize callers', () => {
    const scheduler = new Scheduler({ concurrency: 1, maxQueueSize: 2, agingMs: 60_000 });
    scheduler.acquire();
    void scheduler.acquire();
    void scheduler.acquire();
    expect(() => scheduler.acquire()).toThrow(QueueFullError);
    expect(scheduler.metrics()).toMatchObject({ queued: 2, rejectedQueueFull: 1 });
  });
});
