/**
 * The key store unavailable (issue 7, fault injection 4): the service in EventStoreDB mode, its key
 * store on `subjectkey-<id>` streams of the same (gRPC test) server, but reached through its own
 * connection, which goes through a TCP relay the test can cut: the subject-key streams become
 * unreachable while the rest of the event store answers.
 *
 * Whatever needs a data key that is not in memory then answers 503 KEY_STORE_UNAVAILABLE with
 * Retry-After and writes nothing: a registration (no subject, no device binding, no key), an upload
 * (no event, no object), a job request, a content read (no view recorded, no bytes). Once the key
 * streams answer again the same requests succeed, and every subject has exactly one key.
 */
import { randomBytes } from 'node:crypto';
import { createServer, Socket, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { EventStoreKeyStore, SUBJECT_KEY_CREATED } from '../../src/modules/crypto/eventstore/event-store-key-store';
import { KeyStore } from '../../src/modules/crypto/key-store.port';
import { loadMasterKey } from '../../src/modules/crypto/master-key';
import { EventStoreDbEventStore } from '../../src/modules/event-store/eventstoredb/eventstoredb-event-store';
import { ObjectStorage } from '../../src/modules/object-storage/object-storage.port';
import { objectKeys } from '../../src/modules/object-storage/object-keys';
import { EsdbTestServer } from '../support/esdb-test-server/esdb-test-server';
import { startTestApp, type TestApp } from '../support/test-app';
import { expectUnavailable, ofType, uploadBody } from './fault-helpers';
import { registerWithConsent, type LoadSubject } from './load-driver';

/** A TCP relay to `target` that can be cut (connections dropped, new ones refused) and restored on the same port. */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket().connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('key store unavailable (EventStoreDB mode, subject-key streams unreachable)', () => {
  let server: EsdbTestServer;
  let relay: Relay;
  let keyConnection: EventStoreDbEventStore;
  let t: TestApp;
  const http = () => t.http();
  const auth = (s: LoadSubject) => ({ Authorization: `Bearer ${s.token}` });

  beforeAll(async () => {
    server = await EsdbTestServer.start();
    relay = new Relay(server.port);
    await relay.open();
    const masterKey = randomBytes(32).toString('base64');
    const clock = new ManualClock(new Date());
    keyConnection = new EventStoreDbEventStore({ connectionString: `esdb://127.0.0.1:${relay.port}?tls=false`, retry: { baseDelayMs: 20 } });
    const keyStore = new EventStoreKeyStore({ masterKey: loadMasterKey({ masterKey, dataDir: '/nonexistent', warn: () => undefined }), eventStore: keyConnection, clock });
    t = await startTestApp({ clock, env: { EVENTSTORE_CONNECTION_STRING: server.connectionString, MASTER_KEY: masterKey }, overrides: { keyStore } });
  });
  afterAll(async () => {
    await t?.close();
    await t?.app.get(KeyStore).close();
    await keyConnection?.close();
    await relay?.cut();
    await server?.stop();
  });

  it('registration, upload, job request and content read answer 503 with nothing written; all succeed once the key streams answer, one key per subject', { timeout: 60_000 }, async () => {
    const subject = await registerWithConsent(http);
    const body = await uploadBody('photo-enlarge', 3);
    const stored = await http().post('/v1/images').set(auth(subject)).send(body);
    expect(stored.status).toBe(201);
    const imageId = stored.body.imageId as string;

    await relay.cut();
    // Another instance erased nothing; this one simply has no key in memory (a restart, an LRU eviction).
    t.app.get(KeyStore).forget(subject.subjectId);
    const mark = await t.mark();
    const storage = t.app.get(ObjectStorage);
    const originalsBefore: string[] = [];
    for await (const o of storage.list(objectKeys.subjectPrefixes(subject.subjectId)[0])) originalsBefore.push(o.key);

    const device = { deviceId: `device-${randomBytes(6).toString('hex')}`, deviceSecret: `secret-${randomBytes(24).toString('hex')}`, isAdult: true };
    const registration = await http().post('/v1/devices').send(device);
    expectUnavailable(registration, 'KEY_STORE_UNAVAILABLE');
    const upload = await http().post('/v1/images').set(auth(subject)).set('Idempotency-Key', 'key-outage-1').send(body);
    expectUnavailable(upload, 'KEY_STORE_UNAVAILABLE');
    const job = await http().post(`/v1/images/${imageId}/jobs`).set(auth(subject)).send({ purpose: 'photo-enlarge' });
    expectUnavailable(job, 'KEY_STORE_UNAVAILABLE');
    const read = await http().get(`/v1/images/${imageId}/content`).set(auth(subject));
    expectUnavailable(read, 'KEY_STORE_UNAVAILABLE');
    expect(read.body).not.toHaveProperty('imageBase64');

    expect(await t.eventsSince(mark)).toEqual([]);
    const originalsAfter: string[] = [];
    for await (const o of storage.list(objectKeys.subjectPrefixes(subject.subjectId)[0])) originalsAfter.push(o.key);
    expect(originalsAfter).toEqual(originalsBefore);

    await relay.open(); // same port: the key store's client reconnects by itself
    const registered = await http().post('/v1/devices').send(device);
    expect(registered.status).toBe(201);
    const uploaded = await http().post('/v1/images').set(auth(subject)).set('Idempotency-Key', 'key-outage-1').send(body);
    expect(uploaded.status).toBe(201);
    expect((await http().post(`/v1/images/${imageId}/jobs`).set(auth(subject)).send({ purpose: 'photo-enlarge' })).status).toBe(202);
    const content = await http().get(`/v1/images/${imageId}/content`).set(auth(subject));
    expect(content.status).toBe(200);
    expect((content.body as Buffer).equals(Buffer.from(body.imageBase64, 'base64'))).toBe(true);

    const keys = server.records().filter((r) => r.type === SUBJECT_KEY_CREATED);
    const perSubject = new Map<string, number>();
    for (const r of keys) perSubject.set(r.stream, (perSubject.get(r.stream) ?? 0) + 1);
    expect(perSubject.get(`subjectkey-${subject.subjectId}`)).toBe(1);
    expect(perSubject.get(`subjectkey-${registered.body.subjectId}`)).toBe(1);
    expect([...perSubject.values()].every((n) => n === 1)).toBe(true);
    expect(ofType(await t.eventsSince(mark), 'SubjectRegistered')).toHaveLength(1);
  });
});
