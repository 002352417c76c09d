import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisTier } from './tiers/redis.js';

/** One invalidation as it travels between instances. */
export interface InvalidationMessage {
  /** Counters to bump. */
  bumps: string[];
  /** A glob over cache keys whose L1/L3 entries are dropped. */
  pattern?: string;
}

interface Envelope extends InvalidationMessage {
  origin: string;
  id: string;
}

/**
 * Invalidations over Redis pub/sub. A publisher waits until every subscribed instance has applied
 * the message (each acknowledges on the publisher's own channel), so when a write returns no
 * instance's L1 still serves what it changed — or the wait timed out, which is counted.
 */
export class InvalidationBus {
  readonly instanceId = randomUUID();
  readonly stats = { published: 0, received: 0, ackTimeouts: 0, errors: 0 };
  private readonly subscriber: Redis;
  private readonly channel: string;
  private readonly ackChannel: string;
  private readonly waiting = new Map<string, { acks: number; expected: number; done: () => void }>();

  constructor(
    private readonly publisher: Pick<RedisTier, 'client' | 'publish'>,
    keyPrefix: string,
    private readonly ackTimeoutMs: number,
    private readonly apply: (message: InvalidationMessage) => void,
    onResubscribed: () => void,
  ) {
    this.channel = `${keyPrefix}{qopt}:invalidate`;
    this.ackChannel = `${keyPrefix}{qopt}:ack:${this.instanceId}`;
    this.subscriber = publisher.client.duplicate({ enableOfflineQueue: true });
    this.subscriber.on('error', () => undefined);
    let connectedOnce = false;
    // After a reconnect of the subscription, messages sent meanwhile are lost: the owner drops what could be stale.
    this.subscriber.on('ready', () => {
      if (connectedOnce) onResubscribed();
      connectedOnce = true;
    });
    this.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.onMessage(channel.toString(), payload.toString()));
  }

  /** Subscribes; fails quietly if Redis is down (ioredis resubscribes when it is back). */
  async start(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel, this.ackChannel);
    } catch {
      this.stats.errors += 1;
    }
  }

  private onMessage(channel: string, payload: string): void {
    if (channel === this.ackChannel) {
      const waiter = this.waiting.get(payload);
      if (!waiter) return;
      waiter.acks += 1;
      if (waiter.acks >= waiter.expected) waiter.done();
      return;
    }
    const envelope = JSON.parse(payload) as Envelope;
    this.stats.received += 1;
    if (envelope.origin !== this.instanceId) this.apply(envelope);
    this.publisher.publish(`${channel.slice(0, -'invalidate'.length)}ack:${envelope.origin}`, envelope.id).catch(() => {
      this.stats.errors += 1;
    });
  }

  /** Publishes and waits for every subscriber's acknowledgement (bounded by the ack timeout). Throws if Redis fails. */
  async publish(message: InvalidationMessage): Promise<void> {
    const envelope: Envelope = { ...message, origin: this.instanceId, id: randomUUID() };
    let done!: () => void;
    const acknowledged = new Promise<void>((resolve) => (done = resolve));
    // Acks travel on another connection and may arrive before PUBLISH's reply: count them from the start.
    const waiter = { acks: 0, expected: Number.POSITIVE_INFINITY, done };
    this.waiting.set(envelope.id, waiter);
    try {
      const receivers = await this.publisher.publish(this.channel, JSON.stringify(envelope));
      this.stats.published += 1;
      waiter.expected = receivers;
      if (waiter.acks >= receivers) return;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.ackTimeoutMs)));
      if (await Promise.race([acknowledged.then(() => false), timedOut])) this.stats.ackTimeouts += 1;
      clearTimeout(timer);
    } finally {
      this.waiting.delete(envelope.id);
    }
  }

  /** Unsubscribes and closes the subscriber connection. */
  async close(): Promise<void> {
    this.subscriber.disconnect();
  }
}
