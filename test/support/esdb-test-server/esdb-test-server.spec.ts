/**
 * The test server's fidelity to EventStoreDB, checked through the raw `@eventstore/db-client`
 * (what the adapter relies on, and what a real node does).
 */
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  eventTypeFilter,
  jsonEvent,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { status } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EsdbTestServer } from './esdb-test-server';

const event = (type = 'Happened', data: Record<string, unknown> = { n: 1 }, id = randomUUID()) => jsonEvent({ id, type, data });

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

function post(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('EsdbTestServer (raw client)', () => {
  let server: EsdbTestServer;
  let client: EventStoreDBClient;
  let clock: Date;

  beforeEach(async () => {
    clock = new Date('2026-03-01T10:00:00.000Z');
    server = await EsdbTestServer.start({ now: () => clock });
    client = EventStoreDBClient.connectionString(server.connectionString);
  });
  afterEach(async () => {
    await client.dispose();
    await server.stop();
  });

  const types = (events: ResolvedEvent[] | AllStreamResolvedEvent[]) => events.map((e) => e.event?.type);
  const revisions = (events: ResolvedEvent[]) => events.map((e) => e.event?.revision);

  describe('records', () => {
    it('gives events created (100 ns ticks since the Unix epoch), revisions and increasing positions', async () => {
      const result = await client.appendToStream('rec-1', [event('A', { a: 1 }), event('B')], { expectedRevision: NO_STREAM });
      const read = await collect(client.readStream('rec-1'));
      expect(read.map((e) => e.event?.created.toISOString())).toEqual([clock.toISOString(), clock.toISOString()]);
      expect(revisions(read)).toEqual([0n, 1n]);
      expect(read[0]!.event?.data).toEqual({ a: 1 });
      expect(read[0]!.event?.isJson).toBe(true);
      const [p0, p1] = read.map((e) => e.event!.position!);
      expect(p0!.commit).toBe(p0!.prepare);
      expect(p1!.commit).toBeGreaterThan(p0!.commit);
      expect(result.position).toEqual(p1);
      expect(result.nextExpectedRevision).toBe(1n);
    });

    it('reads $all forwards from a position inclusively and backwards from it exclusively', async () => {
      await client.appendToStream('all-1', [event('A'), event('B'), event('C')]);
      const all = (await collect(client.readAll())).filter((e) => e.event?.streamId === 'all-1');
      const middle = all[1]!.event!.position;
      expect(types(await collect(client.readAll({ fromPosition: middle, maxCount: 2 })))).toEqual(['B', 'C']);
      expect(types(await collect(client.readAll({ fromPosition: middle, direction: BACKWARDS, maxCount: 1 })))).toEqual(['A']);
      expect(types(await collect(client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })))).toEqual(['C']);
      // A fresh node's $all starts with system events.
      expect((await collect(client.readAll({ maxCount: 1 })))[0]!.event?.streamId).toBe('$settings');
    });
  });

  describe('expected revisions and idempotency', () => {
    it('answers a conflict with wrong_expected_version carrying the current revision', async () => {
      await client.appendToStream('wev-1', [event(), event()]);
      const error = await failure(client.appendToStream('wev-1', [event()], { expectedRevision: 0n }));
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect((error as WrongExpectedVersionError).actualVersion).toBe(1n);
      expect((error as WrongExpectedVersionError).expectedVersion).toBe(0n);
      const missing = await failure(client.appendToStream('wev-2', [event()], { expectedRevision: STREAM_EXISTS }));
      expect((missing as WrongExpectedVersionError).actualVersion).toBe('no_stream');
    });

    it('treats a re-append of the same ids as idempotent, a partial overlap as a conflict', async () => {
      const ids = [randomUUID(), randomUUID()];
      const first = await client.appendToStream('idem-1', [event('A', {}, ids[0]), event('B', {}, ids[1])], { expectedRevision: NO_STREAM });
      for (const expectedRevision of [NO_STREAM, 'any', STREAM_EXISTS] as const) {
        const again = await client.appendToStream('idem-1', [event('A', {}, ids[0]), event('B', {}, ids[1])], { expectedRevision });
        expect(again.nextExpectedRevision).toBe(1n);
        expect(again.position).toEqual(first.position);
      }
      const partial = await failure(client.appendToStream('idem-1', [event('A', {}, ids[0]), event('New')], { expectedRevision: NO_STREAM }));
      expect(partial).toBeInstanceOf(WrongExpectedVersionError);
      expect(await collect(client.readStream('idem-1'))).toHaveLength(2);
    });
  });

  describe('deletion', () => {
    it('soft delete writes $tb = 2^63-1; a stream re-created with no_stream continues its revisions, $tb moves', async () => {
      await client.setStreamMetadata('soft-1', { maxAge: 60 });
      await client.appendToStream('soft-1', [event(), event()]);
      await client.deleteStream('soft-1');
      expect(await failure(collect(client.readStream('soft-1')))).toBeInstanceOf(StreamNotFoundError);
      expect((await client.getStreamMetadata('soft-1')).metadata).toEqual({ truncateBefore: Number(9223372036854775807n) });
      // stream_exists on a soft-deleted stream: EventStoreDB answers "stream deleted".
      expect(await failure(client.appendToStream('soft-1', [event()], { expectedRevision: STREAM_EXISTS }))).toBeInstanceOf(
        StreamDeletedError,
      );
      const reborn = await client.appendToStream('soft-1', [event('Reborn')], { expectedRevision: NO_STREAM });
      expect(reborn.nextExpectedRevision).toBe(2n);
      expect(revisions(await collect(client.readStream('soft-1')))).toEqual([2n]);
      expect((await client.getStreamMetadata('soft-1')).metadata).toEqual({ truncateBefore: 2 });
    });

    it('re-creates a soft-deleted stream at its last revision, and by writing metadata', async () => {
      await client.appendToStream('soft-2', [event(), event()]);
      await client.deleteStream('soft-2', { expectedRevision: 1n });
      await client.appendToStream('soft-2', [event('Again')], { expectedRevision: 1n });
      expect(revisions(await collect(client.readStream('soft-2')))).toEqual([2n]);
      await client.appendToStream('soft-3', [event()]);
      await client.deleteStream('soft-3');
      await client.setStreamMetadata('soft-3', { maxCount: 5 });
      expect(await collect(client.readStream('soft-3'))).toEqual([]);
      expect((await client.getStreamMetadata('soft-3')).metadata).toEqual({ maxCount: 5, truncateBefore: 1 });
    });

    it('refuses to soft delete a stream that never existed, and answers conflicts as gRPC errors', async () => {
      const error = await failure(client.deleteStream('never-1'));
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      await client.appendToStream('del-1', [event()]);
      const wrong = await failure(client.deleteStream('del-1', { expectedRevision: NO_STREAM }));
      expect((wrong as WrongExpectedVersionError).actualVersion).toBe(0n);
    });

    it('tombstones: every later call fails with stream-deleted, the metastream too', async () => {
      await client.appendToStream('tomb-1', [event()]);
      await client.tombstoneStream('tomb-1');
      const read = await failure(collect(client.readStream('tomb-1')));
      expect(read).toBeInstanceOf(StreamDeletedError);
      expect((read as StreamDeletedError).streamName).toBe('tomb-1');
      expect(await failure(client.appendToStream('tomb-1', [event()], { expectedRevision: NO_STREAM }))).toBeInstanceOf(StreamDeletedError);
      expect(await failure(client.deleteStream('tomb-1'))).toBeInstanceOf(StreamDeletedError);
      expect(await failure(client.tombstoneStream('tomb-1'))).toBeInstanceOf(StreamDeletedError);
      expect(await failure(client.getStreamMetadata('tomb-1'))).toBeInstanceOf(StreamDeletedError);
      const tombstone = (await collect(client.readAll())).find((e) => e.event?.streamId === 'tomb-1' && e.event.type === '$streamDeleted');
      expect(tombstone?.event?.revision).toBe(9223372036854775807n);
      await client.tombstoneStream('tomb-never');
      expect(await failure(collect(client.readStream('tomb-never')))).toBeInstanceOf(StreamDeletedError);
    });
  });

  describe('metadata and scavenge', () => {
    it('hides events by $tb, $maxCount and $maxAge from stream reads only, until a scavenge', async () => {
      await client.appendToStream('meta-tb', [event('T0'), event('T1'), event('T2')]);
      await client.setStreamMetadata('meta-tb', { truncateBefore: 2 });
      await client.appendToStream('meta-mc', [event('C0'), event('C1'), event('C2')]);
      await client.setStreamMetadata('meta-mc', { maxCount: 2 });
      await client.appendToStream('meta-age', [event('Old')]);
      await client.setStreamMetadata('meta-age', { maxAge: 60 });
      clock = new Date(clock.getTime() + 61_000);
      await client.appendToStream('meta-age', [event('New')]);
      expect(types(await collect(client.readStream('meta-tb')))).toEqual(['T2']);
      expect(types(await collect(client.readStream('meta-mc')))).toEqual(['C1', 'C2']);
      expect(types(await collect(client.readStream('meta-age')))).toEqual(['New']);
      const inAll = () =>
        collect(client.readAll()).then((all) => all.filter((e) => e.event?.streamId.startsWith('meta-')).map((e) => e.event?.type));
      expect(await inAll()).toEqual(['T0', 'T1', 'T2', 'C0', 'C1', 'C2', 'Old', 'New']);
      const { removedRecords } = server.scavenge();
      expect(removedRecords).toBeGreaterThanOrEqual(4);
      expect(await inAll()).toEqual(['T2', 'C1', 'C2', 'New']);
      // The metastreams keep their last event.
      expect((await client.getStreamMetadata('meta-mc')).metadata).toEqual({ maxCount: 2 });
    });

    it('keeps the last event of a soft-deleted stream and only the tombstone of a tombstoned one', async () => {
      await client.appendToStream('sc-soft', [event('S0'), event('S1')]);
      await client.deleteStream('sc-soft');
      await client.appendToStream('sc-tomb', [event('X0'), event('X1')]);
      await client.tombstoneStream('sc-tomb');
      server.scavenge();
      const left = server.records().filter((r) => r.stream.startsWith('sc-') || r.stream.startsWith('$$sc-'));
      expect(left.map((r) => `${r.stream}:${r.type}`)).toEqual(['sc-soft:S1', '$$sc-soft:$metadata', 'sc-tomb:$streamDeleted']);
    });
  });

  describe('subscriptions', () => {
    it('subscribes to $all: confirmation, catch-up, caught-up, then live; exclusive from a position', async () => {
      await client.appendToStream('live-1', [event('A'), event('B')]);
      const seen: string[] = [];
      const sub = client.subscribeToAll({ fromPosition: START, filter: streamNameFilter({ prefixes: ['live-'] }) });
      sub.on('confirmation', () => seen.push('confirmation'));
      sub.on('caughtUp', () => seen.push('caughtUp'));
      const positions: Position[] = [];
      const got = new Promise<void>((resolve) =>
        sub.on('data', (e: AllStreamResolvedEvent) => {
          seen.push(e.event!.type);
          positions.push(e.event!.position);
          if (seen.includes('C')) resolve();
        }),
      );
      await new Promise<void>((resolve) => sub.once('caughtUp', () => resolve()));
      await client.appendToStream('live-1', [event('C')]);
      await got;
      await sub.unsubscribe();
      expect(seen).toEqual(['confirmation', 'A', 'B', 'caughtUp', 'C']);
      const resumed = client.subscribeToAll({ fromPosition: positions[0]!, filter: streamNameFilter({ prefixes: ['live-'] }) });
      const after: string[] = [];
      resumed.on('data', (e: AllStreamResolvedEvent) => after.push(e.event!.type));
      await new Promise<void>((resolve) => resumed.once('caughtUp', () => resolve()));
      await resumed.unsubscribe();
      expect(after).toEqual(['B', 'C']);
    });

    it('sends a checkpoint every 32 × interval scanned events of a filtered subscription', async () => {
      await client.appendToStream('noise-1', Array.from({ length: 70 }, () => event('Noise')));
      const checkpoints: Position[] = [];
      const sub = client.subscribeToAll({
        fromPosition: START,
        filter: eventTypeFilter({ regex: '^Wanted$', checkpointInterval: 1, checkpointReached: (_s, p) => void checkpoints.push(p) }),
      });
      sub.on('data', () => undefined);
      await new Promise<void>((resolve) => sub.once('caughtUp', () => resolve()));
      await sub.unsubscribe();
      // 71 records ($settings + 70): two full windows, then one at the switch to live.
      expect(checkpoints).toHaveLength(3);
      expect(checkpoints[2]!.commit).toBe(server.records()[server.records().length - 1]!.position);
    });

    it('subscribes to a stream from a revision (exclusive), then live', async () => {
      await client.appendToStream('ss-1', [event('A'), event('B')]);
      const got: string[] = [];
      const sub = client.subscribeToStream('ss-1', { fromRevision: 0n });
      const done = new Promise<void>((resolve) =>
        sub.on('data', (e: ResolvedEvent) => {
          got.push(e.event!.type);
          if (got.length === 2) resolve();
        }),
      );
      await new Promise<void>((resolve) => sub.once('caughtUp', () => resolve()));
      await client.appendToStream('ss-1', [event('C')]);
      await done;
      await sub.unsubscribe();
      expect(got).toEqual(['B', 'C']);
    });

    it('drops subscriptions on demand, with an error or a clean end', async () => {
      const sub = client.subscribeToAll();
      sub.on('data', () => undefined);
      await new Promise<void>((resolve) => sub.once('caughtUp', () => resolve()));
      const dropped = new Promise<Error>((resolve) => sub.once('error', resolve));
      expect(server.dropSubscriptions()).toBe(1);
      expect((await dropped).message).toMatch(/UNAVAILABLE|dropped/i);
      const second = client.subscribeToAll();
      second.on('data', () => undefined);
      await new Promise<void>((resolve) => second.once('caughtUp', () => resolve()));
      const ended = new Promise<void>((resolve) => second.once('end', () => resolve()));
      server.dropSubscriptions(status.OK);
      await ended;
    });
  });

  describe('operations hooks', () => {
    it('injects failures, keeps data across restart() on the same port', async () => {
      server.failNext('append', 1, status.UNAVAILABLE);
      expect(await failure(client.appendToStream('ops-1', [event()]))).toBeInstanceOf(Error);
      await client.appendToStream('ops-1', [event('Kept')]);
      const port = server.port;
      await server.restart();
      expect(server.port).toBe(port);
      // The first call after a restart may find the old connection gone; the client reconnects.
      const read = await collect(client.readStream('ops-1')).catch(() => collect(client.readStream('ops-1')));
      expect(types(read)).toEqual(['Kept']);
      expect(server.stats.injectedFailures).toBe(1);
    });

    it('answers POST /admin/scavenge like EventStoreDB, with optional basic auth', async () => {
      const ok = await post(`${server.adminUrl}/admin/scavenge?threads=1&startFromChunk=0&threshold=0`);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toEqual({ scavengeId: expect.stringMatching(/^[0-9a-f-]{36}$/), result: 'Started' });
      expect((await post(`${server.adminUrl}/admin/scavenge?threads=0`)).status).toBe(400);
      expect((await post(`${server.adminUrl}/admin/other`)).status).toBe(404);
      const guarded = await EsdbTestServer.start({ adminCredentials: { username: 'admin', password: 'changeit' } });
      try {
        expect((await post(`${guarded.adminUrl}/admin/scavenge`)).status).toBe(401);
        const wrong = `Basic ${Buffer.from('admin:nope').toString('base64')}`;
        expect((await post(`${guarded.adminUrl}/admin/scavenge`, { authorization: wrong })).status).toBe(401);
        const right = `Basic ${Buffer.from('admin:changeit').toString('base64')}`;
        expect((await post(`${guarded.adminUrl}/admin/scavenge`, { authorization: right })).status).toBe(200);
        expect(guarded.scavengeRequestLog[0]!.username).toBe('admin');
      } finally {
        await guarded.stop();
      }
    });
  });
});
