/**
 * Device accounts end to end: POST /v1/devices and POST /v1/devices/token, with the exact events
 * each step appends (and none for refusals and sign-ins), the interrupted-registration repair,
 * Idempotency-Key replays, rate limits, and a raw search of DATA_DIR for the device id and secret.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streams } from '../../src/events';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { DerivedKeys } from '../../src/modules/crypto/derived-keys';
import { EventLog } from '../../src/modules/event-store/event-log';
import { EventStoreUnavailableError } from '../../src/modules/event-store/event-store.errors';
import type { EventStore, StoredEvent } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { TokenService } from '../../src/modules/identity/tokens/token.service';
import { bearer, filesContaining, STAFF, startTestApp, type TestApp } from '../support/test-app';

const secret = () => `s3cret-${randomBytes(24).toString('hex')}`;
const deviceName = () => `device-${randomUUID()}`;
const typesOf = (events: StoredEvent[]) => events.map((e) => e.type);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('device accounts (e2e)', () => {
  let t: TestApp;
  /** Every device id and secret used against this app, for the raw disk search at the end. */
  const used: string[] = [];
  const register = (body: Record<string, unknown>, key?: string) => {
    // Only distinctive values (a 9-character string may well occur in a database by chance).
    for (const field of ['deviceId', 'deviceSecret'] as const) if (typeof body[field] === 'string' && (body[field] as string).length >= 32) used.push(body[field] as string);
    const req = t.http().post('/v1/devices');
    if (key) req.set('Idempotency-Key', key);
    return req.send(body);
  };
  const signIn = (deviceId: string, deviceSecret: string) => t.http().post('/v1/devices/token').send({ deviceId, deviceSecret });

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('registers an adult: DeviceRegistered (keyed hash stream, secret hash encrypted), then SubjectRegistered + AdultConfirmed; the token works', async () => {
    const deviceId = deviceName();
    const deviceSecret = secret();
    const mark = await t.mark();
    const res = await register({ deviceId, deviceSecret, isAdult: true });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ subjectId: expect.stringMatching(UUID), accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
    const { subjectId } = res.body;

    const events = await t.eventsSince(mark);
    const deviceHash = t.app.get(DerivedKeys).deviceHash(deviceId);
    expect(events.map((e) => [e.stream, e.type])).toEqual([
      [`device-${deviceHash}`, 'DeviceRegistered'],
      [`subject-${subjectId}`, 'SubjectRegistered'],
      [`subject-${subjectId}`, 'AdultConfirmed'],
    ]);
    expect(deviceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(events.every((e) => e.metadata.actor === `subject:${subjectId}`)).toBe(true);
    const [bound, opened] = events;
    expect(bound.data).toMatchObject({ subjectId, deviceHash });
    expect(JSON.stringify(bound.data.secretHash)).not.toContain('scrypt');
    expect(opened.data).toMatchObject({ subjectId, ageBasis: 'adult', policyVersion: '2025-06-24' });
    expect(JSON.stringify(opened.data.deviceId)).not.toContain(deviceId);
    for (const event of events) expect(JSON.stringify({ data: event.data, metadata: event.metadata })).not.toContain(deviceSecret);

    // Decrypted through the EventLog: the device id and a scrypt hash, never the secret.
    const log = t.app.get(EventLog);
    const subjectStream = await log.load(streams.subject(subjectId));
    expect(subjectStream.events[0].data).toMatchObject({ deviceId });
    const deviceStream = await log.load(streams.device(deviceHash));
    expect(deviceStream.events[0].data).toMatchObject({ secretHash: expect.stringMatching(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/) });

    // The token is bound to the subject and works at once (read-your-writes).
    expect(await t.app.get(TokenService).verify(res.body.accessToken)).toBe(subjectId);
    const me = await t.http().get('/v1/me/consents').set(bearer(res.body.accessToken));
    expect(me.status).toBe(200);
  });

  it('registers a minor with a guardian consent: GuardianConsentRecorded', async () => {
    const mark = await t.mark();
    const res = await register({ deviceId: deviceName(), deviceSecret: secret(), isAdult: false, guardianConsent: true });
    expect(res.status).toBe(201);
    const events = await t.eventsSince(mark);
    expect(typesOf(events)).toEqual(['DeviceRegistered', 'SubjectRegistered', 'GuardianConsentRecorded']);
    expect(events[1].data).toMatchObject({ subjectId: res.body.subjectId, ageBasis: 'guardian' });
  });

  it('refuses a minor without a guardian consent: 422 GUARDIAN_CONSENT_REQUIRED, no event', async () => {
    const mark = await t.mark();
    for (const extra of [{}, { guardianConsent: false }]) {
      const res = await register({ deviceId: deviceName(), deviceSecret: secret(), isAdult: false, ...extra });
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 422, code: 'GUARDIAN_CONSENT_REQUIRED' });
    }
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('refuses malformed bodies with 400 (unknown field, short secret, missing or mistyped fields), no event', async () => {
    const mark = await t.mark();
    const cases: [Record<string, unknown>, string][] = [
      [{ deviceId: deviceName(), deviceSecret: secret(), isAdult: true, nickname: 'x' }, 'UNKNOWN_FIELD'],
      [{ deviceId: deviceName(), deviceSecret: 'too-short', isAdult: true }, 'VALIDATION_FAILED'],
      [{ deviceId: deviceName(), deviceSecret: 'x'.repeat(257), isAdult: true }, 'VALIDATION_FAILED'],
      [{ deviceId: '', deviceSecret: secret(), isAdult: true }, 'VALIDATION_FAILED'],
      [{ deviceId: 'd'.repeat(257), deviceSecret: secret(), isAdult: true }, 'VALIDATION_FAILED'],
      [{ deviceId: deviceName(), deviceSecret: secret() }, 'VALIDATION_FAILED'],
      [{ deviceId: deviceName(), deviceSecret: secret(), isAdult: 'yes' }, 'VALIDATION_FAILED'],
      [{ deviceId: 42, deviceSecret: secret(), isAdult: true }, 'VALIDATION_FAILED'],
    ];
    for (const [body, code] of cases) {
      const res = await register(body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.code).toBe(code);
    }
    const token = await t.http().post('/v1/devices/token').send({ deviceId: deviceName(), deviceSecret: secret(), isAdult: true });
    expect([token.status, token.body.code]).toEqual([400, 'UNKNOWN_FIELD']);
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('refuses a second registration of a device: 409 DEVICE_ALREADY_REGISTERED (same or other secret), no event', async () => {
    const deviceId = deviceName();
    const deviceSecret = secret();
    expect((await register({ deviceId, deviceSecret, isAdult: true })).status).toBe(201);
    const mark = await t.mark();
    for (const body of [
      { deviceId, deviceSecret, isAdult: true },
      { deviceId, deviceSecret: secret(), isAdult: true },
      { deviceId, deviceSecret, isAdult: false, guardianConsent: true },
    ]) {
      const res = await register(body);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'DEVICE_ALREADY_REGISTERED' });
    }
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('concurrent registrations of one device with different secrets: exactly one wins, the others get 409', async () => {
    const deviceId = deviceName();
    const mark = await t.mark();
    const results = await Promise.all([0, 1, 2, 3].map(() => register({ deviceId, deviceSecret: secret(), isAdult: true })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    const winner = results.find((r) => r.status === 201)?.body.subjectId;
    expect((await t.eventsSince(mark)).map((e) => [e.type, e.data.subjectId])).toEqual([
      ['DeviceRegistered', winner],
      ['SubjectRegistered', winner],
      ['AdultConfirmed', winner],
    ]);
  });

  it('issues tokens for the right secret (no event) and one 401 INVALID_CREDENTIALS for a wrong secret or an unknown device', async () => {
    const deviceId = deviceName();
    const deviceSecret = secret();
    const registered = await register({ deviceId, deviceSecret, isAdult: true });
    const mark = await t.mark();

    const ok = await signIn(deviceId, deviceSecret);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ subjectId: registered.body.subjectId, accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
    expect(ok.body.accessToken).not.toBe(registered.body.accessToken);
    expect((await t.http().get('/v1/me/consents').set(bearer(ok.body.accessToken))).status).toBe(200);

    const wrong = await signIn(deviceId, secret());
    used.push(deviceId);
    const unknownId = deviceName();
    used.push(unknownId);
    const unknown = await signIn(unknownId, deviceSecret);
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect(await t.eventsSince(mark)).toEqual([]);
  });

  it('a device released by an erasure signs in no more, and may register again as a new subject', async () => {
    const deviceId = deviceName();
    const first = secret();
    const registered = await register({ deviceId, deviceSecret: first, isAdult: true });
    const oldSubject = registered.body.subjectId as string;
    const deviceHash = t.app.get(DerivedKeys).deviceHash(deviceId);
    // What the erasure does to the device stream (the rest of the erasure is not needed here).
    await t.app.get(EventLog).append(
      streams.device(deviceHash),
      [{ type: 'DeviceReleased', data: { subjectId: oldSubject, deviceHash, reason: 'erasure' } }],
      0n,
      { actor: 'system:erasure', correlationId: 'test', causationId: null },
    );
    const released = await signIn(deviceId, first);
    expect([released.status, released.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);

    const second = secret();
    const mark = await t.mark();
    const again = await register({ deviceId, deviceSecret: second, isAdult: true });
    expect(again.status).toBe(201);
    expect(again.body.subjectId).not.toBe(oldSubject);
    const events = await t.eventsSince(mark);
    expect(events.map((e) => [e.stream, e.type])).toEqual([
      [`device-${deviceHash}`, 'DeviceRegistered'],
      [`subject-${again.body.subjectId}`, 'SubjectRegistered'],
      [`subject-${again.body.subjectId}`, 'AdultConfirmed'],
    ]);
    expect(events[0].revision).toBe(2n);
    expect((await signIn(deviceId, second)).body.subjectId).toBe(again.body.subjectId);
    expect((await signIn(deviceId, first)).status).toBe(401);
  });

  it('replays a registration with the same Idempotency-Key and body: 201, same subject, fresh token, nothing appended', async () => {
    const deviceId = deviceName();
    const deviceSecret = secret();
    const body = { deviceId, deviceSecret, isAdult: true };
    const first = await register(body, 'reg-key-1');
    expect(first.status).toBe(201);

    const mark = await t.mark();
    const replay = await register({ isAdult: true, deviceSecret, deviceId }, 'reg-key-1');
    expect(replay.status).toBe(201);
    expect(replay.body).toMatchObject({ subjectId: first.body.subjectId, tokenType: 'Bearer', expiresIn: 900 });
    expect(replay.body.accessToken).not.toBe(first.body.accessToken);
    expect(await t.app.get(TokenService).verify(replay.body.accessToken)).toBe(first.body.subjectId);

    // The same key with another body: 422 IDEMPOTENCY_KEY_REUSED (another secret too).
    for (const other of [
      { deviceId, deviceSecret, isAdult: false, guardianConsent: true },
      { deviceId, deviceSecret: secret(), isAdult: true },
    ]) {
      const res = await register(other, 'reg-key-1');
      expect([res.status, res.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    }
    // Without the key, or with another one, it is a duplicate registration.
    expect((await register(body)).status).toBe(409);
    expect((await register(body, 'reg-key-2')).status).toBe(409);
    expect(await t.eventsSince(mark)).toEqual([]);

    // The key is the device's own: another device may use the same key.
    const otherDevice = await register({ deviceId: deviceName(), deviceSecret: secret(), isAdult: true }, 'reg-key-1');
    expect(otherDevice.status).toBe(201);
    expect(otherDevice.body.subjectId).not.toBe(first.body.subjectId);
  });

  it('refuses a malformed Idempotency-Key with 400', async () => {
    const res = await register({ deviceId: deviceName(), deviceSecret: secret(), isAdult: true }, 'x'.repeat(129));
    expect([res.status, res.body.code]).toEqual([400, 'INVALID_IDEMPOTENCY_KEY']);
  });

  it('the device endpoints are public; the OpenAPI document describes them with their error codes', async () => {
    const doc = (await t.http().get('/docs-json')).body;
    const registration = doc.paths['/v1/devices'].post;
    expect(Object.keys(registration.responses)).toEqual(expect.arrayContaining(['201', '400', '409', '422', '429', '503']));
    expect(registration.responses['422'].description).toContain('GUARDIAN_CONSENT_REQUIRED');
    expect(registration.responses['409'].description).toContain('DEVICE_ALREADY_REGISTERED');
    const token = doc.paths['/v1/devices/token'].post;
    expect(token.responses['401'].description).toContain('INVALID_CREDENTIALS');
    expect(token.responses['200']).toBeDefined();
  });

  it('a staff token is not a subject token', async () => {
    const res = await t.http().get('/v1/me/consents').set(bearer(STAFF.auditor));
    expect(res.status).toBe(403);
  });

  it('the device ids and secrets appear in no file under DATA_DIR (nor a scrypt hash in clear)', async () => {
    await t.settle();
    expect(used.length).toBeGreaterThan(20);
    for (const needle of new Set(used)) expect(filesContaining(t.dataDir, needle)).toEqual([]);
    expect(filesContaining(t.dataDir, 'scrypt$')).toEqual([]);
    // Positive control: the search does find what is stored in clear, e.g. a device stream's name.
    const deviceHash = t.app.get(DerivedKeys).deviceHash(used[0]);
    expect(filesContaining(t.dataDir, `device-${deviceHash}`).length).toBeGreaterThan(0);
  });
});

describe('rate limits on the device endpoints (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_AUTH_PER_MINUTE: '3', TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await t?.close();
  });
  const from = (ip: string) => ({ 'X-Forwarded-For': ip });

  it('per client IP: failed and successful attempts count; then 429 RATE_LIMITED with Retry-After, no event', async () => {
    const deviceSecret = secret();
    const ip = '203.0.113.10';
    const registered = await t.http().post('/v1/devices').set(from(ip)).send({ deviceId: deviceName(), deviceSecret, isAdult: true });
    expect(registered.status).toBe(201);
    expect((await t.http().post('/v1/devices/token').set(from(ip)).send({ deviceId: deviceName(), deviceSecret })).status).toBe(401);
    expect((await t.http().post('/v1/devices/token').set(from(ip)).send({ deviceId: 'x', deviceSecret: 'short' })).status).toBe(400);

    const mark = await t.mark();
    const limited = await t.http().post('/v1/devices').set(from(ip)).send({ deviceId: deviceName(), deviceSecret: secret(), isAdult: true });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const limitedToken = await t.http().post('/v1/devices/token').set(from(ip)).send({ deviceId: deviceName(), deviceSecret });
    expect(limitedToken.status).toBe(429);
    expect(await t.eventsSince(mark)).toEqual([]);

    // Another address is not affected; this one recovers after a minute.
    expect((await t.http().post('/v1/devices/token').set(from('203.0.113.11')).send({ deviceId: deviceName(), deviceSecret })).status).toBe(401);
    t.clock.advance(60_000);
    expect((await t.http().post('/v1/devices/token').set(from(ip)).send({ deviceId: deviceName(), deviceSecret })).status).toBe(401);
  });

  it('per device, across addresses: a guessing run on one device is stopped, even the right secret then waits', async () => {
    const deviceId = deviceName();
    const deviceSecret = secret();
    expect((await t.http().post('/v1/devices').set(from('198.51.100.1')).send({ deviceId, deviceSecret, isAdult: true })).status).toBe(201);
    expect((await t.http().post('/v1/devices/token').set(from('198.51.100.2')).send({ deviceId, deviceSecret: secret() })).status).toBe(401);
    expect((await t.http().post('/v1/devices/token').set(from('198.51.100.3')).send({ deviceId, deviceSecret: secret() })).status).toBe(401);
    const limited = await t.http().post('/v1/devices/token').set(from('198.51.100.4')).send({ deviceId, deviceSecret });
    expect([limited.status, limited.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(limited.headers['retry-after']).toBeDefined();
    // Other devices from the same addresses are fine.
    expect((await t.http().post('/v1/devices/token').set(from('198.51.100.4')).send({ deviceId: deviceName(), deviceSecret })).status).toBe(401);
    t.clock.advance(60_000);
    expect((await t.http().post('/v1/devices/token').set(from('198.51.100.5')).send({ deviceId, deviceSecret })).status).toBe(200);
  });
});

describe('a registration interrupted between its two appends (e2e)', () => {
  let t: TestApp;
  let inner: SqliteEventStore;
  let dataDir: string;
  let failSubjectAppends = 0;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pm-e2e-identity-'));
    const clock = new ManualClock('2026-03-02T02:00:00.000Z');
    inner = new SqliteEventStore({ file: join(dataDir, 'events.db'), clock });
    // The event store fails the append to subject-<id> on demand, after the device stream append succeeded.
    const flaky = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'append') {
          return async (...args: Parameters<EventStore['append']>) => {
            if (failSubjectAppends > 0 && args[0].startsWith('subject-')) {
              failSubjectAppends--;
              throw new EventStoreUnavailableError('injected outage');
            }
            return target.append(...args);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    t = await startTestApp({ dataDir, clock, overrides: { eventStore: flaky } });
  });
  afterAll(async () => {
    await t?.close();
    await inner?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('503 after the device was bound; another secret then gets 409; the same device and secret finish it with the same subject', async () => {
    const deviceId = deviceName();
    const deviceSecret = secret();
    failSubjectAppends = 1;
    const mark = await t.mark();
    const failed = await t.http().post('/v1/devices').send({ deviceId, deviceSecret, isAdult: true });
    expect(failed.status).toBe(503);
    expect(failed.headers['retry-after']).toBeDefined();
    const bound = await t.eventsSince(mark);
    expect(typesOf(bound)).toEqual(['DeviceRegistered']);
    const subjectId = bound[0].data.subjectId as string;

    const afterFailure = await t.mark();
    const thief = await t.http().post('/v1/devices').send({ deviceId, deviceSecret: secret(), isAdult: true });
    expect([thief.status, thief.body.code]).toEqual([409, 'DEVICE_ALREADY_REGISTERED']);
    const noToken = await t.http().post('/v1/devices/token').send({ deviceId, deviceSecret });
    expect([noToken.status, noToken.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect(await t.eventsSince(afterFailure)).toEqual([]);

    const retry = await t.http().post('/v1/devices').send({ deviceId, deviceSecret, isAdult: true });
    expect(retry.status).toBe(201);
    expect(retry.body.subjectId).toBe(subjectId);
    const finished = await t.eventsSince(afterFailure);
    expect(finished.map((e) => [e.stream, e.type])).toEqual([
      [`subject-${subjectId}`, 'SubjectRegistered'],
      [`subject-${subjectId}`, 'AdultConfirmed'],
    ]);
    expect((await t.http().post('/v1/devices/token').send({ deviceId, deviceSecret })).body.subjectId).toBe(subjectId);
    expect((await t.http().post('/v1/devices').send({ deviceId, deviceSecret, isAdult: true })).status).toBe(409);
  });

  it('with an Idempotency-Key, the replay of the interrupted request finishes it', async () => {
    const deviceId = deviceName();
    const deviceSecret = secret();
    failSubjectAppends = 1;
    const body = { deviceId, deviceSecret, isAdult: false, guardianConsent: true };
    const failed = await t.http().post('/v1/devices').set('Idempotency-Key', 'interrupted-1').send(body);
    expect(failed.status).toBe(503);
    const mark = await t.mark();
    const replay = await t.http().post('/v1/devices').set('Idempotency-Key', 'interrupted-1').send(body);
    expect(replay.status).toBe(201);
    expect(typesOf(await t.eventsSince(mark))).toEqual(['SubjectRegistered', 'GuardianConsentRecorded']);
    const again = await t.mark();
    const second = await t.http().post('/v1/devices').set('Idempotency-Key', 'interrupted-1').send(body);
    expect(second.body.subjectId).toBe(replay.body.subjectId);
    expect(await t.eventsSince(again)).toEqual([]);
  });
});
