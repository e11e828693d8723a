/**
 * HTTP hardening, end to end against the real service:
 *  - security headers (helmet's set, X-Frame-Options DENY, no X-Powered-By) on JSON, problems,
 *    content and docs; `Cache-Control: no-store` on every /v1 answer that holds personal data;
 *  - CORS closed by default (no Access-Control-Allow-Origin for any origin, preflight not
 *    allowed); with CORS_ORIGINS, exactly those origins; invalid CORS_ORIGINS refused at boot;
 *  - request timeouts: slow-loris clients (stalled body, stalled headers, a trickled body) get
 *    408 REQUEST_TIMEOUT as a problem and the connection closed, and the service stays up;
 *  - rate limits on registration and sign-in per client (IPv4 address or IPv6 /64, never a
 *    spoofed X-Forwarded-For) and per device: a guessing loop on one device's secret is stopped
 *    after RATE_LIMIT_AUTH_PER_MINUTE attempts, whatever the addresses, with 429 RATE_LIMITED and
 *    a Retry-After that is honoured; subject requests are limited too.
 */
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/modules/config/app-config';
import { binary } from '../fixtures/binary-body';
import { base64Of, jpegImage } from '../fixtures/images';
import { bearer, registerSubject, STAFF, startTestApp, type TestApp } from '../support/test-app';

type Subject = Awaited<ReturnType<typeof registerSubject>>;

const secret = () => `hardening-secret-${'z'.repeat(32)}-${Math.random().toString(36).slice(2)}`;
const deviceName = () => `hardening-device-${Math.random().toString(36).slice(2)}`;

function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>, what: string): void {
  expect(headers['x-content-type-options'], what).toBe('nosniff');
  expect(String(headers['content-security-policy']), what).toContain("frame-ancestors 'none'");
  expect(headers['x-frame-options'], what).toBe('DENY');
  expect(String(headers['strict-transport-security']), what).toMatch(/^max-age=\d{7,}/);
  expect(headers['referrer-policy'], what).toBe('no-referrer');
  expect(headers['cross-origin-resource-policy'], what).toBe('same-origin');
  expect(headers['x-powered-by'], what).toBeUndefined();
  expect(headers['server'], what).toBeUndefined();
}

describe('security headers and caching', () => {
  let t: TestApp;
  let a: Subject;
  let imageId: string;
  let requestId: string;

  beforeAll(async () => {
    t = await startTestApp();
    a = await registerSubject(t);
    await t.http().put('/v1/me/consents/photo-enlarge').set(bearer(a.token)).send({ policyVersion: t.config.policyVersion });
    const image = await jpegImage(32, 32);
    const uploaded = await t.http().post('/v1/images').set(bearer(a.token)).send({ imageBase64: base64Of(image), contentType: image.contentType, purpose: 'photo-enlarge', faces: [{ x: 0, y: 0, width: 10, height: 10 }] });
    expect(uploaded.status).toBe(201);
    imageId = uploaded.body.imageId;
    const submitted = await t.http().post('/v1/me/requests').set(bearer(a.token)).send({ type: 'access' });
    expect(submitted.status).toBe(201);
    requestId = submitted.body.requestId;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("carries helmet's headers on JSON, problems, content, health and docs, and no X-Powered-By", async () => {
    const answers = {
      json: await t.http().get('/v1/me/consents').set(bearer(a.token)),
      problem: await t.http().get('/v1/me/consents'),
      content: await t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary),
      health: await t.http().get('/health'),
      docs: await t.http().get('/docs-json'),
      notFound: await t.http().get('/v1/nothing-here'),
    };
    expect(answers.json.status).toBe(200);
    expect(answers.problem.status).toBe(401);
    expect(answers.content.status).toBe(200);
    for (const [what, res] of Object.entries(answers)) expectSecurityHeaders(res.headers, what);
    // Content is served as what it is, never sniffed into something else.
    expect(answers.content.headers['content-type']).toBe('image/jpeg');
  });

  it('answers Cache-Control: no-store on every /v1 answer holding personal data, tokens or content', async () => {
    const device = { deviceId: deviceName(), deviceSecret: secret(), isAdult: true };
    const registered = await t.http().post('/v1/devices').send(device);
    const signedIn = await t.http().post('/v1/devices/token').send({ deviceId: device.deviceId, deviceSecret: device.deviceSecret });
    const subjectReads = [
      '/v1/me/consents',
      '/v1/me/history',
      '/v1/me/access-log',
      '/v1/me/requests',
      `/v1/me/requests/${requestId}`,
      '/v1/images',
      `/v1/images/${imageId}`,
      `/v1/images/${imageId}/content`,
      '/v1/artworks',
      '/v1/me/export',
    ];
    const staffReads: Array<[string, string]> = [
      ['/v1/audit/events?limit=3', STAFF.auditor],
      [`/v1/audit/subjects/${a.subjectId}/history`, STAFF.auditor],
      ['/v1/audit/access-log', STAFF.auditor],
      ['/v1/audit/requests', STAFF.auditor],
      ['/v1/audit/retention', STAFF.auditor],
      ['/v1/dpo/requests', STAFF.dpo],
    ];
    const answers: Array<[string, { status: number; headers: Record<string, string> }]> = [
      ['POST /v1/devices', registered],
      ['POST /v1/devices/token', signedIn],
      ['PUT /v1/me/consents/erase-pen', await t.http().put('/v1/me/consents/erase-pen').set(bearer(a.token)).send({ policyVersion: t.config.policyVersion })],
      ['a problem', await t.http().get(`/v1/images/${imageId}`)],
    ];
    for (const path of subjectReads) answers.push([path, await t.http().get(path).set(bearer(a.token)).buffer(true).parse(binary)]);
    for (const [path, token] of staffReads) answers.push([path, await t.http().get(path).set(bearer(token))]);
    for (const [what, res] of answers) {
      expect(res.status, what).toBeLessThan(500);
      expect(res.headers['cache-control'], what).toBe('no-store');
    }
    expect(registered.status).toBe(201);
    expect(signedIn.status).toBe(200);
  });

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await t.http().get('/health').set('X-Request-Id', 'client-req.42:a');
    expect(kept.headers['x-request-id']).toBe('client-req.42:a');
    const replaced = await t.http().get('/health').set('X-Request-Id', `<script>${'x'.repeat(200)}`);
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('CORS', () => {
  const preflight = (t: TestApp, origin: string) =>
    t.http().options('/v1/images').set('Origin', origin).set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'authorization,content-type');

  it('is closed by default: no origin is allowed, the preflight is answered without allowing anything', async () => {
    const t = await startTestApp();
    try {
      const subject = await registerSubject(t);
      for (const origin of ['https://evil.example', 'https://app.example', 'null', 'http://localhost']) {
        const pre = await preflight(t, origin);
        expect(pre.headers['access-control-allow-origin'], origin).toBeUndefined();
        expect(pre.headers['access-control-allow-methods'], origin).toBeUndefined();
        expect(pre.headers['access-control-allow-credentials'], origin).toBeUndefined();
        // What a browser sees: 404 NOT_FOUND (no OPTIONS route), a problem document.
        expect([pre.status, pre.body.code]).toEqual([404, 'NOT_FOUND']);
        const read = await t.http().get('/v1/me/consents').set('Origin', origin).set(bearer(subject.token));
        expect(read.status).toBe(200);
        expect(read.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    } finally {
      await t.close();
    }
  });

  it('with CORS_ORIGINS allows exactly those origins (preflight and requests), and no other', async () => {
    const t = await startTestApp({ env: { CORS_ORIGINS: 'https://app.example, https://studio.example:8443' } });
    try {
      const subject = await registerSubject(t);
      for (const origin of ['https://app.example', 'https://studio.example:8443']) {
        const pre = await preflight(t, origin);
        expect(pre.status).toBe(204);
        expect(pre.headers['access-control-allow-origin']).toBe(origin);
        expect(String(pre.headers['access-control-allow-methods'])).toContain('POST');
        expect(String(pre.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
        expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
        const read = await t.http().get('/v1/me/consents').set('Origin', origin).set(bearer(subject.token));
        expect(read.headers['access-control-allow-origin']).toBe(origin);
        expect(String(read.headers['vary'])).toContain('Origin');
        expect(String(read.headers['access-control-expose-headers']).toLowerCase()).toContain('retry-after');
      }
      for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'http://app.example', 'https://studio.example', 'null']) {
        const pre = await preflight(t, origin);
        expect(pre.headers['access-control-allow-origin'], origin).toBeUndefined();
        const read = await t.http().get('/v1/me/consents').set('Origin', origin).set(bearer(subject.token));
        expect(read.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    } finally {
      await t.close();
    }
  });

  it('refuses a wildcard, a path or a bare host in CORS_ORIGINS at boot', () => {
    for (const value of ['*', 'https://app.example/', 'https://app.example/path', 'app.example', 'https://*.example']) {
      expect(() => loadConfig({ DATA_DIR: '/tmp/unused', CORS_ORIGINS: value }), value).toThrow(ConfigError);
    }
    expect(loadConfig({ DATA_DIR: '/tmp/unused', CORS_ORIGINS: 'https://app.example,http://localhost:5173' }).http.corsOrigins).toEqual(['https://app.example', 'http://localhost:5173']);
  });
});

interface SlowAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The server closed the connection. */
  readonly closed: boolean;
  readonly elapsedMs: number;
}

/**
 * A slow client: writes `head`, then `trickle` one byte every `everyMs` (if any) and otherwise
 * nothing, and reads until the server closes the connection.
 */
function slowClient(port: number, head: string, trickle?: { bytes: string; everyMs: number }): Promise<SlowAnswer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (timer) clearInterval(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const lines = (end >= 0 ? text.slice(0, end) : '').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0), headers, body: end >= 0 ? text.slice(end + 4) : '', closed: true, elapsedMs: Math.round(performance.now() - started) });
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.write(head);
    if (trickle) {
      let at = 0;
      timer = setInterval(() => {
        if (socket.destroyed || at >= trickle.bytes.length) return clearInterval(timer);
        socket.write(trickle.bytes[at++]);
      }, trickle.everyMs);
    }
  });
}

describe('request timeouts (REQUEST_TIMEOUT=PT1S)', () => {
  let t: TestApp;
  let port: number;
  let subject: Subject;

  beforeAll(async () => {
    t = await startTestApp({ env: { REQUEST_TIMEOUT: 'PT1S' } });
    subject = await registerSubject(t);
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(async () => {
    await t?.close();
  });

  const expectTimedOut = async (answer: SlowAnswer, what: string) => {
    expect(answer.status, what).toBe(408);
    expect(answer.headers['content-type'], what).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(answer.body), what).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT', type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    expect(answer.headers['connection'], what).toBe('close');
    expect(answer.closed, what).toBe(true);
    expect((await t.http().get('/health')).status, `${what}: service still up`).toBe(200);
  };

  it('headers sent, then the body stalls: 408 REQUEST_TIMEOUT, connection closed, nothing recorded', async () => {
    const mark = await t.mark();
    const answer = await slowClient(
      port,
      `POST /v1/me/requests HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${subject.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":"acc`,
    );
    await expectTimedOut(answer, 'stalled body');
    expect(await t.eventsSince(mark)).toEqual([]);
    console.log(`stalled body: 408 after ${answer.elapsedMs} ms (REQUEST_TIMEOUT 1000 ms)`);
  });

  it('headers never finished: 408 REQUEST_TIMEOUT, connection closed', async () => {
    const answer = await slowClient(port, 'GET /v1/me/consents HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    await expectTimedOut(answer, 'stalled headers');
    console.log(`stalled headers: 408 after ${answer.elapsedMs} ms`);
  });

  it('a body trickled one byte at a time (slow-loris) is cut off at the timeout, not kept alive by the trickle', async () => {
    const body = JSON.stringify({ deviceId: deviceName(), deviceSecret: secret(), isAdult: true });
    const answer = await slowClient(port, `POST /v1/devices HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, { bytes: body, everyMs: 100 });
    await expectTimedOut(answer, 'trickled body');
    console.log(`trickled body (${body.length} bytes at 10 B/s): 408 after ${answer.elapsedMs} ms`);
  });

  it('a complete request sent in pieces within the timeout is served normally', async () => {
    const answer = await slowClient(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n', { bytes: '\r\n', everyMs: 50 });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'ok' });
  });
});

describe('rate limits on registration and sign-in (RATE_LIMIT_AUTH_PER_MINUTE=5)', () => {
  let t: TestApp;
  const from = (ip: string) => ({ 'X-Forwarded-For': ip });
  let ipCounter = 0;
  /** A new client address each call (behind the trusted proxy). */
  const freshIp = () => `198.18.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_AUTH_PER_MINUTE: '5', RATE_LIMIT_SUBJECT_PER_MINUTE: '10', TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const expectLimited = (res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, what: string): number => {
    expect(res.status, what).toBe(429);
    expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
    expect(res.body, what).toMatchObject({ status: 429, code: 'RATE_LIMITED', type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    expect(res.headers['retry-after'], what).toMatch(/^[1-9]\d*$/);
    return Number(res.headers['retry-after']);
  };

  it('a guessing loop on one device’s secret from ever-new addresses is stopped after 5 attempts; even the right secret then waits Retry-After', async () => {
    const deviceId = deviceName();
    const deviceSecret = secret();
    expect((await t.http().post('/v1/devices').set(from(freshIp())).send({ deviceId, deviceSecret, isAdult: true })).status).toBe(201);
    const mark = await t.mark();

    const statuses: number[] = [];
    for (let guess = 0; guess < 40; guess++) {
      statuses.push((await t.http().post('/v1/devices/token').set(from(freshIp())).send({ deviceId, deviceSecret: secret() })).status);
    }
    // The registration took one attempt of the device's budget: four guesses reached the secret check.
    expect(statuses.filter((s) => s === 401)).toHaveLength(4);
    expect(statuses.slice(4).every((s) => s === 429)).toBe(true);

    const rightSecret = await t.http().post('/v1/devices/token').set(from(freshIp())).send({ deviceId, deviceSecret });
    const retryAfter = expectLimited(rightSecret, 'the right secret during the lock-out');
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(JSON.stringify(rightSecret.body)).not.toContain(deviceId);
    // Another device, from an address the loop used, is not affected.
    const other = await registerSubjectFrom(t, `198.18.0.${ipCounter % 250}`);
    expect((await t.http().post('/v1/devices/token').set(from(freshIp())).send({ deviceId: other.deviceId, deviceSecret: other.deviceSecret })).status).toBe(200);
    expect((await t.eventsSince(mark)).map((e) => e.type).filter((type) => !['DeviceRegistered', 'SubjectRegistered', 'AdultConfirmed'].includes(type))).toEqual([]);

    // Retry-After is honoured: after exactly that long, one attempt is allowed again.
    t.clock.advance(retryAfter * 1000);
    expect((await t.http().post('/v1/devices/token').set(from(freshIp())).send({ deviceId, deviceSecret })).status).toBe(200);
    expectLimited(await t.http().post('/v1/devices/token').set(from(freshIp())).send({ deviceId, deviceSecret }), 'the next attempt at once');
  });

  it('answers an unknown device exactly like a known one (no enumeration through the limiter)', async () => {
    const unknown = deviceName();
    const statuses: number[] = [];
    for (let guess = 0; guess < 8; guess++) statuses.push((await t.http().post('/v1/devices/token').set(from(freshIp())).send({ deviceId: unknown, deviceSecret: secret() })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
  });

  it('limits one client across registration and sign-in, and an IPv6 client by its /64', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await t.http().post('/v1/devices').set(from(ip)).send({ deviceId: deviceName(), deviceSecret: secret(), isAdult: true })).status);
    for (let i = 0; i < 2; i++) statuses.push((await t.http().post('/v1/devices/token').set(from(ip)).send({ deviceId: deviceName(), deviceSecret: secret() })).status);
    expect(statuses).toEqual([201, 201, 201, 401, 401]);
    const mark = await t.mark();
    expectLimited(await t.http().post('/v1/devices').set(from(ip)).send({ deviceId: deviceName(), deviceSecret: secret(), isAdult: true }), 'registration from the same client');
    expectLimited(await t.http().post('/v1/devices/token').set(from(ip)).send({ deviceId: deviceName(), deviceSecret: secret() }), 'sign-in from the same client');
    expect(await t.eventsSince(mark)).toEqual([]);

    const v6: number[] = [];
    for (let i = 1; i <= 7; i++) v6.push((await t.http().post('/v1/devices/token').set(from(`2001:db8:42:7::${i.toString(16)}`)).send({ deviceId: deviceName(), deviceSecret: secret() })).status);
    expect(v6).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect((await t.http().post('/v1/devices/token').set(from('2001:db8:42:8::1')).send({ deviceId: deviceName(), deviceSecret: secret() })).status).toBe(401);
  });

  it('malformed attempts count too (the limit runs before validation)', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await t.http().post('/v1/devices/token').set(from(ip)).send({ deviceId: 'x', deviceSecret: 'short' })).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
  });

  it('limits subject requests per subject (RATE_LIMIT_SUBJECT_PER_MINUTE=10)', async () => {
    const subject = await registerSubjectFrom(t, freshIp());
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await t.http().get('/v1/me/consents').set(bearer(subject.token))).status);
    expect(statuses).toEqual(new Array(10).fill(200));
    expectLimited(await t.http().get('/v1/me/consents').set(bearer(subject.token)), 'the 11th read in a minute');
  });
});

describe('rate limits without a trusted proxy (the default)', () => {
  it('ignores X-Forwarded-For: rotating it does not escape the per-client limit', async () => {
    const t = await startTestApp({ env: { RATE_LIMIT_AUTH_PER_MINUTE: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push((await t.http().post('/v1/devices/token').set('X-Forwarded-For', `203.0.113.${i + 1}`).send({ deviceId: deviceName(), deviceSecret: secret() })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await t.close();
    }
  });
});

async function registerSubjectFrom(t: TestApp, ip: string): Promise<Subject> {
  const deviceId = deviceName();
  const deviceSecret = secret();
  const res = await t.http().post('/v1/devices').set('X-Forwarded-For', ip).send({ deviceId, deviceSecret, isAdult: true });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { subjectId: res.body.subjectId, token: res.body.accessToken, deviceId, deviceSecret };
}
