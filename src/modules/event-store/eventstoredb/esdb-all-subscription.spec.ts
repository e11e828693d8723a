/**
 * EsdbAllSubscription on its own, through the real client against the test server: flow control
 * with a slow consumer, batch sizes, and an outage during which re-subscribing keeps failing.
 */
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { status } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EsdbTestServer } from '../../../../test/support/esdb-test-server/esdb-test-server';
import type { StoredEvent, SubscriptionBatch } from '../event-store.port';
import { EsdbAllSubscription } from './esdb-all-subscription';

describe('EsdbAllSubscription', () => {
  let server: EsdbTestServer;
  let client: EventStoreDBClient;
  let subscription: EsdbAllSubscription | null = null;

  beforeEach(async () => {
    server = await EsdbTestServer.start();
    client = EventStoreDBClient.connectionString(server.connectionString);
  });
  afterEach(async () => {
    await subscription?.close();
    subscription = null;
    await client.dispose();
    await server.stop();
  });

  const append = (stream: string, count: number, start = 0) =>
    client.appendToStream(
      stream,
      Array.from({ length: count }, (_, i) => jsonEvent({ id: randomUUID(), type: 'N', data: { n: start + i } })),
    );

  it('pauses the server stream for a slow consumer, keeping the queue bounded, and loses nothing', async () => {
    for (let n = 0; n < 1_000; n += 100) await append(`flow-${n}`, 100, n);
    subscription = new EsdbAllSubscription({
      client,
      fromPosition: 'start',
      filter: { streamPrefixes: ['flow-'] },
      baseDelayMs: 5,
      maxDelayMs: 50,
      highWaterMark: 50,
      maxBatchSize: 20,
    });
    const events: StoredEvent[] = [];
    const batches: SubscriptionBatch[] = [];
    let mostQueued = 0;
    for await (const batch of subscription) {
      batches.push(batch);
      events.push(...batch.events);
      mostQueued = Math.max(mostQueued, subscription.bufferedEvents);
      await new Promise((resolve) => setTimeout(resolve, 1)); // a slow consumer
      if (events.length >= 1_000 && batches.some((b) => b.caughtUp)) break;
    }
    expect(events.map((e) => e.data.n)).toEqual(Array.from({ length: 1_000 }, (_, n) => n));
    expect(Math.max(...batches.map((b) => b.events.length))).toBeLessThanOrEqual(20);
    // At most the high-water mark plus what the client had already buffered when it paused.
    expect(mostQueued).toBeLessThan(50 + 64);
  });

  it('keeps trying through an outage, then catches up again without duplicates', async () => {
    await append('outage-1', 2);
    subscription = new EsdbAllSubscription({
      client,
      fromPosition: 'start',
      filter: { streamPrefixes: ['outage-'] },
      baseDelayMs: 2,
      maxDelayMs: 10,
    });
    const iterator = subscription[Symbol.asyncIterator]();
    const batches: SubscriptionBatch[] = [];
    const next = async () => {
      const result = await iterator.next();
      if (result.done) throw new Error('ended');
      batches.push(result.value);
      return result.value;
    };
    while (!batches.some((b) => b.caughtUp)) await next();
    const reads = server.stats.readCalls;
    server.failNext('read', 5, status.UNAVAILABLE); // the next five re-subscriptions fail
    server.dropSubscriptions();
    await append('outage-1', 1, 2);
    // Until the new event came and the new subscription caught up (the event may come before or after that point).
    const after: SubscriptionBatch[] = [];
    const delivered = () => after.some((b) => b.events.some((e) => e.data.n === 2));
    while (!delivered() || !after.some((b) => b.caughtUp)) after.push(await next());
    // Five refused attempts, then one that works.
    expect(server.stats.readCalls - reads).toBe(6);
    expect(server.stats.injectedFailures).toBe(5);
    expect(batches.flatMap((b) => b.events.map((e) => e.data.n))).toEqual([0, 1, 2]);
  });
});
