/**
 * Adapter-specific behaviour of EventStoreDbEventStore, through the real `@eventstore/db-client`
 * against the in-process gRPC test server: retries, deadlines, restarts, re-subscription, bounded
 * appends, paging, purge over the admin API. (The port's semantics are in the contract suite.)
 */
import { status } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EsdbTestServer } from '../../../../test/support/esdb-test-server/esdb-test-server';
import {
  EventStoreUnavailableError,
  InvalidAppendError,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../event-store.errors';
import { comparePositions, type AllSubscription, type EventToAppend, type StoredEvent, type SubscriptionBatch } from '../event-store.port';
import { EventStoreDbEventStore, type EventStoreDbEventStoreOptions } from './eventstoredb-event-store';

const ev = (type = 'ThingHappened', data: Record<string, number | string> = { n: 1 }): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: { actor: 'system:test' },
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** Waits (bounded by the test timeout, never asserting on time) until `predicate` holds. */
async function eventually(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Pulls batches in the background; `until` resolves when `predicate` holds over the events seen. */
function consume(sub: AllSubscription) {
  const events: StoredEvent[] = [];
  const batches: SubscriptionBatch[] = [];
  let error: unknown = null;
  const waiters: Array<() => void> = [];
  const done = (async () => {
    try {
      for await (const batch of sub) {
        batches.push(batch);
        events.push(...batch.events);
        for (const wake of waiters.splice(0)) wake();
      }
    } catch (e) {
      error = e;
    }
    for (const wake of waiters.splice(0)) wake();
  })();
  const until = async (predicate: () => boolean): Promise<void> => {
    while (!predicate()) {
      if (error) throw error;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { events, batches, until, done, error: () => error };
}

describe('EventStoreDbEventStore (real client, in-process test server)', () => {
  let server: EsdbTestServer;
  const stores: EventStoreDbEventStore[] = [];
  const open = (options: Partial<EventStoreDbEventStoreOptions> = {}): EventStoreDbEventStore => {
    const store = new EventStoreDbEventStore({
      connectionString: server.connectionString,
      adminUrl: server.adminUrl,
      retry: { attempts: 4, baseDelayMs: 5 },
      ...options,
    });
    stores.push(store);
    return store;
  };
  const copiesOf = (id: string): number => server.records().filter((r) => r.id === id).length;

  beforeEach(async () => {
    server = await EsdbTestServer.start();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await server.stop();
  });

  describe('retries', () => {
    it('retries an append that failed twice with UNAVAILABLE and writes exactly one copy', async () => {
      const store = open();
      const events = [ev('A'), ev('B')];
      server.failNext('append', 2, status.UNAVAILABLE);
      const result = await store.append('order-1', events, 'no_stream');
      expect(result.nextExpectedRevision).toBe(1n);
      expect(server.stats.injectedFailures).toBe(2);
      expect(server.stats.appendCalls).toBe(3);
      for (const e of events) expect(copiesOf(e.id)).toBe(1);
      expect((await collect(store.readStream('order-1'))).map((e) => e.id)).toEqual(events.map((e) => e.id));
    });

    it('a retry after a lost answer (committed, then UNAVAILABLE) is an idempotent no-op with the original result', async () => {
      const store = open();
      await store.append('order-2', [ev()], 'no_stream');
      const events = [ev('A'), ev('B')];
      server.failNext('append', 1, status.UNAVAILABLE, { afterCommit: true });
      const result = await store.append('order-2', events, 0n);
      expect(result.nextExpectedRevision).toBe(2n);
      for (const e of events) expect(copiesOf(e.id)).toBe(1);
      const read = await collect(store.readStream('order-2'));
      expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n]);
      expect(comparePositions(result.position, read[2]!.position)).toBe(0);
    });

    it('retries DEADLINE_EXCEEDED too, and gives up with EventStoreUnavailableError, writing nothing', async () => {
      const store = open({ retry: { attempts: 3, baseDelayMs: 5 } });
      server.failNext('append', 2, status.DEADLINE_EXCEEDED);
      await store.append('order-3', [ev()], 'no_stream');
      const events = [ev()];
      server.failNext('append', 3, status.UNAVAILABLE);
      const error = await failure(store.append('order-4', events, 'no_stream'));
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect(copiesOf(events[0]!.id)).toBe(0);
    });

    it('does not retry a wrong expected version', async () => {
      const store = open();
      await store.append('order-5', [ev()], 'no_stream');
      const calls = server.stats.appendCalls;
      const error = await failure(store.append('order-5', [ev()], 'no_stream'));
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect((error as WrongExpectedVersionError).expected).toBe('no_stream');
      expect(server.stats.appendCalls).toBe(calls + 1);
    });

    it('resumes a paged read after a transient failure without skipping or repeating an event', async () => {
      const store = open({ readPageSize: 3 });
      const events = Array.from({ length: 10 }, (_, n) => ev('N', { n }));
      await store.append('paged-1', events, 'no_stream');
      const seen: number[] = [];
      for await (const e of store.readStream('paged-1')) {
        seen.push(e.data.n as number);
        if (seen.length === 2) server.failNext('read', 2, status.UNAVAILABLE); // the next page fails twice
      }
      expect(seen).toEqual(Array.from({ length: 10 }, (_, n) => n));
      expect(server.stats.injectedFailures).toBe(2);
    });

    it('treats a tombstone retried after a lost answer as done', async () => {
      const store = open();
      await store.append('gone-1', [ev()], 'no_stream');
      server.failNext('tombstone', 1, status.UNAVAILABLE, { afterCommit: true });
      await store.tombstoneStream('gone-1');
      expect(await failure(collect(store.readStream('gone-1')))).toBeInstanceOf(StreamDeletedError);
    });
  });

  describe('an unreachable or stuck server', () => {
    it('fails appends, reads and health checks with EventStoreUnavailableError when the server is stopped', async () => {
      const store = open({ deadlineMs: 500 });
      await store.append('down-1', [ev()], 'no_stream');
      await server.stop();
      expect(await failure(store.append('down-1', [ev()], 'any'))).toBeInstanceOf(EventStoreUnavailableError);
      expect(await failure(collect(store.readStream('down-1')))).toBeInstanceOf(EventStoreUnavailableError);
      expect(await failure(collect(store.readAll()))).toBeInstanceOf(EventStoreUnavailableError);
      expect(await failure(store.checkHealth())).toBeInstanceOf(EventStoreUnavailableError);
      expect(await failure(store.purge())).toBeInstanceOf(EventStoreUnavailableError);
    });

    it('gives up on a server that does not answer: the deadline turns into EventStoreUnavailableError', async () => {
      const store = open({ deadlineMs: 100, healthDeadlineMs: 100, retry: { attempts: 2, baseDelayMs: 5 } });
      server.setLatency('append', 5_000);
      server.setLatency('read', 5_000);
      const events = [ev()];
      expect(await failure(store.append('slow-1', events, 'no_stream'))).toBeInstanceOf(EventStoreUnavailableError);
      expect(await failure(store.checkHealth())).toBeInstanceOf(EventStoreUnavailableError);
    });

    it('recovers after a restart of the server on the same port', async () => {
      const store = open();
      await store.append('restart-1', [ev('Before')], 'no_stream');
      await store.checkHealth();
      const port = server.port;
      await server.restart();
      expect(server.port).toBe(port);
      await store.append('restart-1', [ev('After')], 0n);
      await store.checkHealth();
      expect((await collect(store.readStream('restart-1'))).map((e) => e.type)).toEqual(['Before', 'After']);
    });
  });

  describe('subscribeAll', () => {
    it('re-subscribes after the server drops the subscription, without gap or duplicate', async () => {
      const store = open();
      await store.append('sub-1', [ev('E', { n: 0 }), ev('E', { n: 1 })], 'no_stream');
      const reader = consume(store.subscribeAll({ filter: { streamPrefixes: ['sub-'] } }));
      await reader.until(() => reader.batches.some((b) => b.caughtUp));
      await store.append('sub-1', [ev('E', { n: 2 })], 1n);
      await reader.until(() => reader.events.length === 3);
      expect(server.dropSubscriptions(status.UNAVAILABLE)).toBe(1);
      await store.append('sub-2', [ev('E', { n: 3 }), ev('E', { n: 4 })], 'no_stream');
      await reader.until(() => reader.events.length >= 5);
      server.dropSubscriptions(status.OK); // a clean end is unexpected too
      await store.append('sub-1', [ev('E', { n: 5 })], 2n);
      await reader.until(() => reader.events.length >= 6);
      expect(reader.events.map((e) => e.data.n)).toEqual([0, 1, 2, 3, 4, 5]);
      const subscriptions = server.subscriptionRequestLog.filter((s) => s.target === '$all');
      expect(subscriptions.length).toBeGreaterThanOrEqual(3);
      expect(subscriptions[0]!.from).toBe('start');
      // Each re-subscription starts (exclusively) at the last event delivered before the drop.
      expect(subscriptions[1]!.from).toBe(reader.events[2]!.position.commit);
    });

    it('re-subscribes after a restart of the server', async () => {
      const store = open();
      const reader = consume(store.subscribeAll({ filter: { streamPrefixes: ['rs-'] } }));
      await reader.until(() => reader.batches.some((b) => b.caughtUp));
      await store.append('rs-1', [ev('E', { n: 0 })], 'no_stream');
      await reader.until(() => reader.events.length === 1);
      await server.restart();
      await store.append('rs-1', [ev('E', { n: 1 })], 0n);
      await reader.until(() => reader.events.length >= 2);
      expect(reader.events.map((e) => e.data.n)).toEqual([0, 1]);
    });

    it('has no gap or duplicate when the subscription drops in the middle of catching up', async () => {
      const store = open();
      for (let n = 0; n < 400; n += 50) {
        await store.append(`mid-${n}`, Array.from({ length: 50 }, (_, i) => ev('E', { n: n + i })), 'no_stream');
      }
      const reader = consume(store.subscribeAll({ filter: { streamPrefixes: ['mid-'] } }));
      await reader.until(() => reader.events.length >= 60);
      server.dropSubscriptions();
      await reader.until(() => reader.events.length >= 400 && reader.batches.some((b) => b.caughtUp));
      expect(reader.events.map((e) => e.data.n)).toEqual(Array.from({ length: 400 }, (_, n) => n));
    });

    it('moves its resume point past filtered-out events with the server checkpoints', async () => {
      const store = open();
      await store.append('wanted-1', [ev('E', { n: 0 })], 'no_stream');
      // 100 events the filter leaves out: the server sends a checkpoint every 32 it scans.
      await store.append('noise-1', Array.from({ length: 100 }, (_, n) => ev('Noise', { n })), 'no_stream');
      const reader = consume(store.subscribeAll({ filter: { streamPrefixes: ['wanted-'] } }));
      await reader.until(() => reader.batches.some((b) => b.caughtUp));
      expect(reader.events.map((e) => e.data.n)).toEqual([0]);
      server.dropSubscriptions();
      await store.append('wanted-1', [ev('E', { n: 1 })], 0n);
      await reader.until(() => reader.events.length >= 2);
      expect(reader.events.map((e) => e.data.n)).toEqual([0, 1]);
      const [, resumed] = server.subscriptionRequestLog.filter((s) => s.target === '$all');
      expect(typeof resumed!.from).toBe('bigint');
      expect(resumed!.from as bigint).toBeGreaterThan(reader.events[0]!.position.commit);
    });

    it('never delivers system events, tombstones or metadata included', async () => {
      const store = open();
      const reader = consume(store.subscribeAll());
      await store.append('sys-1', [ev('Visible')], 'no_stream');
      await store.setStreamMetadata('sys-1', { maxCount: 5 });
      await store.tombstoneStream('sys-1');
      await store.append('sys-2', [ev('Last')], 'no_stream');
      await reader.until(() => reader.events.some((e) => e.type === 'Last'));
      expect(reader.events.map((e) => e.type)).toEqual(['Visible', 'Last']);
      expect(server.records().some((r) => r.type === '$streamDeleted')).toBe(true);
    });

    it('ends the iteration with the error when subscribing again cannot help (access denied)', async () => {
      const store = open();
      server.failNext('read', 1, status.UNAUTHENTICATED);
      const reader = consume(store.subscribeAll());
      await reader.done;
      expect(reader.error()).toBeInstanceOf(Error);
      expect(reader.error()).not.toBeInstanceOf(EventStoreUnavailableError);
    });

    it('close() ends the iteration, and closing the store closes its subscriptions', async () => {
      const store = open();
      const first = consume(store.subscribeAll());
      await first.until(() => first.batches.some((b) => b.caughtUp));
      await store.close();
      await first.done;
      expect(first.error()).toBeNull();
      // The cancellation reaches the server over the wire.
      await eventually(() => server.stats.activeSubscriptions === 0);
      expect(() => store.readAll()).toThrow(EventStoreUnavailableError);
    });
  });

  describe('bounded in-flight appends', () => {
    it('never has more than maxInFlightAppends appends on the server at once', async () => {
      server.setLatency('append', 3);
      const store = open({ maxInFlightAppends: 16 });
      const results = await Promise.all(Array.from({ length: 500 }, (_, n) => store.append(`bounded-${n}`, [ev()], 'no_stream')));
      expect(results).toHaveLength(500);
      expect(server.stats.appendCalls).toBe(500);
      expect(server.stats.maxAppendsInFlight).toBeLessThanOrEqual(16);
      expect(server.stats.maxAppendsInFlight).toBeGreaterThan(1);
    });

    it('(control) without a tight bound the same load does exceed 16 on the server', async () => {
      server.setLatency('append', 3);
      const store = open({ maxInFlightAppends: 500 });
      await Promise.all(Array.from({ length: 500 }, (_, n) => store.append(`unbounded-${n}`, [ev()], 'no_stream')));
      expect(server.stats.maxAppendsInFlight).toBeGreaterThan(16);
    });
  });

  describe('purge', () => {
    it('starts a scavenge over the admin API and the scavenge removes hidden events from $all', async () => {
      const store = open();
      await store.append('purge-1', [ev('P0'), ev('P1'), ev('P2')], 'no_stream');
      await store.setStreamMetadata('purge-1', { truncateBefore: 2n });
      expect((await collect(store.readAll({ filter: { streamPrefixes: ['purge-'] } }))).map((e) => e.type)).toEqual(['P0', 'P1', 'P2']);
      const result = await store.purge();
      expect(result.mode).toBe('scavenge-started');
      expect(result.scavengeId).toMatch(/^[0-9a-f-]{36}$/);
      expect(server.scavengeRequestLog).toHaveLength(1);
      expect(server.scavengeRequestLog[0]!.query).toEqual({ threads: '1', startFromChunk: '0', threshold: '0' });
      expect(server.scavengeRequestLog[0]!.scavengeId).toBe(result.scavengeId);
      expect((await collect(store.readAll({ filter: { streamPrefixes: ['purge-'] } }))).map((e) => e.type)).toEqual(['P2']);
    });

    it('sends basic auth when credentials are configured; a refusal is EventStoreUnavailableError', async () => {
      await server.stop();
      server = await EsdbTestServer.start({ adminCredentials: { username: 'ops', password: 's3cret' } });
      const authorised = open({ adminUsername: 'ops', adminPassword: 's3cret' });
      await authorised.purge();
      expect(server.scavengeRequestLog[0]!.username).toBe('ops');
      const anonymous = open();
      const error = await failure(anonymous.purge());
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect((error as Error).message).toMatch(/401/);
      expect(server.stats.scavenges).toBe(1);
    });

    it('derives the admin URL from the connection string when none is configured', async () => {
      // The test server's admin listener has its own port, so the derived URL reaches the gRPC port.
      const store = open({ adminUrl: '' });
      const error = await failure(store.purge());
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect((error as Error).message).toContain(`http://127.0.0.1:${server.port}`);
    });

    it('starts a scavenge on every configured node', async () => {
      const second = await EsdbTestServer.start();
      try {
        const store = open({ adminUrl: [server.adminUrl, second.adminUrl] });
        const result = await store.purge();
        expect(result.scavengeId?.split(',')).toHaveLength(2);
        expect(server.stats.scavenges).toBe(1);
        expect(second.stats.scavenges).toBe(1);
      } finally {
        await second.stop();
      }
    });
  });

  describe('mapping', () => {
    it('pages readStream both ways and readAll, honouring maxCount across pages', async () => {
      const store = open({ readPageSize: 3 });
      await store.append('page-1', Array.from({ length: 10 }, (_, n) => ev('N', { n })), 'no_stream');
      expect((await collect(store.readStream('page-1'))).map((e) => e.data.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect((await collect(store.readStream('page-1', { direction: 'backwards' }))).map((e) => e.data.n)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect((await collect(store.readStream('page-1', { fromRevision: 4n, maxCount: 5 }))).map((e) => e.data.n)).toEqual([4, 5, 6, 7, 8]);
      const all = await collect(store.readAll({ filter: { eventTypes: ['N'] } }));
      expect(all.map((e) => e.data.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const resumed = await collect(store.readAll({ fromPosition: all[4]!.position, maxCount: 4 }));
      expect(resumed.map((e) => e.data.n)).toEqual([5, 6, 7, 8]);
      expect(await store.headPosition()).toEqual(all[9]!.position);
    });

    it('returns null as head of a log holding only system events', async () => {
      const store = open({ readPageSize: 2 });
      expect(await store.headPosition()).toBeNull();
    });

    it('exact event-type filters do not match prefixes or regex look-alikes', async () => {
      const store = open();
      await store.append('types-1', [ev('A.B'), ev('AxB'), ev('A.Bc'), ev('A.B')], 'no_stream');
      const reader = consume(store.subscribeAll({ filter: { eventTypes: ['A.B'] } }));
      await reader.until(() => reader.batches.some((b) => b.caughtUp));
      expect(reader.events.map((e) => e.type)).toEqual(['A.B', 'A.B']);
      expect((await collect(store.readAll({ filter: { eventTypes: ['A.B'] } }))).map((e) => e.type)).toEqual(['A.B', 'A.B']);
    });

    it('refuses system names, non-UUID ids and empty appends with InvalidAppendError', async () => {
      const store = open();
      expect(await failure(store.append('$system', [ev()], 'any'))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.append('x-1', [ev('$metadata')], 'any'))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.append('x-1', [{ ...ev(), id: 'not-a-uuid' }], 'any'))).toBeInstanceOf(InvalidAppendError);
      expect(await failure(store.append('x-1', [], 'any'))).toBeInstanceOf(InvalidAppendError);
      expect(server.stats.appendCalls).toBe(0);
    });

    it('stream_exists on a soft-deleted stream is a wrong expected version, not a tombstone', async () => {
      const store = open();
      await store.append('soft-1', [ev()], 'no_stream');
      await store.deleteStream('soft-1');
      const error = await failure(store.append('soft-1', [ev()], 'stream_exists'));
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect((error as WrongExpectedVersionError).actual).toBe('no_stream');
      // Re-creating it with no_stream works, revisions continue.
      expect((await store.append('soft-1', [ev('Again')], 'no_stream')).nextExpectedRevision).toBe(1n);
    });

    it('deleteStream honours stream_exists and exact revisions', async () => {
      const store = open();
      const missing = await failure(store.deleteStream('del-0', 'stream_exists'));
      expect(missing).toBeInstanceOf(WrongExpectedVersionError);
      expect((missing as WrongExpectedVersionError).actual).toBe('no_stream');
      await store.append('del-1', [ev(), ev()], 'no_stream');
      const wrong = await failure(store.deleteStream('del-1', 0n));
      expect(wrong).toBeInstanceOf(WrongExpectedVersionError);
      expect((wrong as WrongExpectedVersionError).actual).toBe(1n);
      await store.deleteStream('del-1', 'stream_exists');
      expect(await failure(collect(store.readStream('del-1')))).toBeInstanceOf(StreamNotFoundError);
      await store.append('del-2', [ev()], 'no_stream');
      await store.tombstoneStream('del-2', 'stream_exists');
      expect(await failure(store.tombstoneStream('del-2'))).toBeInstanceOf(StreamDeletedError);
    });

    it('reads metadata of soft-deleted and tombstoned streams like EventStoreDB keeps it', async () => {
      const store = open();
      await store.append('meta-1', [ev()], 'no_stream');
      await store.setStreamMetadata('meta-1', { maxAge: 60 });
      await store.deleteStream('meta-1');
      // A soft delete replaces the metadata with $tb = 2^63-1.
      expect(await store.getStreamMetadata('meta-1')).toEqual({ truncateBefore: 9223372036854775807n });
      await store.append('meta-2', [ev()], 'no_stream');
      await store.tombstoneStream('meta-2');
      expect(await failure(store.getStreamMetadata('meta-2'))).toBeInstanceOf(StreamDeletedError);
      expect(await store.getStreamMetadata('meta-never')).toBeNull();
    });
  });
});
