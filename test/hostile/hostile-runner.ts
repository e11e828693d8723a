/**
 * The shared runner of the hostile-input catalogue. A case names the endpoint (as in the OpenAPI
 * document), the hostile input, the expected status and stable code, and how to send it. For
 * every case the runner asserts, against the real service over HTTP:
 *  - the status, and an `application/problem+json` body with type, title, status, detail, code;
 *  - that neither the answer nor any log line the service wrote meanwhile (at level trace) holds a
 *    secret: the world's tokens, device ids and secrets, the token the case sent, and any longer
 *    string value of the body it sent;
 *  - that the event log head did not move and no file under DATA_DIR/objects appeared or went;
 *  - that GET /health still answers 200 afterwards (the service stayed up).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PURPOSES } from '../../src/events/purposes';
import type { TestAppOptions } from '../support/test-app';
import { buildWorld, type World } from './hostile-world';

/** What came back, from supertest or from a raw socket. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** What this request carried that must never come back (its token, long body strings). */
  readonly sent: readonly string[];
}

export type Send = (w: World) => Promise<Answer>;

export interface HostileCase {
  /** `METHOD /path/{param}` exactly as in /docs-json. */
  readonly endpoint: string;
  /** What is hostile about the request. */
  readonly input: string;
  readonly status: number;
  readonly code: string;
  readonly send: Send;
}

type FromWorld<T> = T | ((w: World) => T);
const resolve = <T>(value: FromWorld<T>, w: World): T => (typeof value === 'function' ? (value as (w: World) => T)(w) : value);

export interface RequestSpec {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: FromWorld<string>;
  readonly headers?: FromWorld<Record<string, string>>;
  /** A JSON body (serialised as is), or a function of the world giving it. */
  readonly json?: ((w: World) => unknown) | object | string | number | boolean | null;
  /** A raw body (sent byte for byte, with `contentType`, default application/json). */
  readonly body?: FromWorld<string | Buffer>;
  readonly contentType?: string;
}

const VOCABULARY = new Set<string>(PURPOSES);

/** Longer string values of a body (ids, secrets, Base64, free text): none may come back in an answer. */
function longStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (value.length >= 16 && !VOCABULARY.has(value)) out.push(value.length > 64 ? value.slice(0, 32) : value);
  } else if (Array.isArray(value)) {
    for (const item of value.slice(0, 100)) longStrings(item, out);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value).slice(0, 100)) longStrings(item, out);
  }
  return out;
}

/** A request through supertest (the real HTTP stack). */
export function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS', path: FromWorld<string>, spec: RequestSpec = {}): Send {
  return async (w) => {
    const agent = w.t.http();
    const url = resolve(path, w);
    let req = method === 'GET' ? agent.get(url) : method === 'POST' ? agent.post(url) : method === 'PUT' ? agent.put(url) : method === 'DELETE' ? agent.delete(url) : method === 'PATCH' ? agent.patch(url) : agent.options(url);
    const sent: string[] = [];
    if (spec.token !== undefined) {
      const token = resolve(spec.token, w);
      req = req.set('Authorization', `Bearer ${token}`);
      if (token.length >= 12) sent.push(token);
    }
    for (const [name, value] of Object.entries(spec.headers ? resolve(spec.headers, w) : {})) req = req.set(name, value);
    if (spec.json !== undefined) {
      const json = resolve(spec.json, w);
      sent.push(...longStrings(json));
      req = req.set('Content-Type', spec.contentType ?? 'application/json').send(JSON.stringify(json));
    } else if (spec.body !== undefined) {
      req = req.set('Content-Type', spec.contentType ?? 'application/json').send(resolve(spec.body, w));
    }
    const res = await req.buffer(true).parse((stream, done) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer | string) => chunks.push(Buffer.from(chunk)));
      stream.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
      stream.on('error', (error: Error) => done(error, ''));
    });
    return { status: res.status, headers: res.headers as Answer['headers'], text: res.body as string, sent };
  };
}

/**
 * Writes `request` (bytes as given) to a fresh connection and reads until the server closes it
 * or answers completely. Status 0 when the connection closed without an answer.
 */
export function rawExchange(port: number, request: string | Buffer): Promise<Omit<Answer, 'sent'> & { closed: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolvePromise({ ...parseRawResponse(Buffer.concat(chunks)), closed });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const parsed = parseRawResponse(Buffer.concat(chunks));
      if (parsed.complete) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    // The server may reset a connection it refuses while the client is still writing.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? finish(true) : reject(error)));
    socket.write(request);
  });
}

function parseRawResponse(bytes: Buffer): Omit<Answer, 'sent'> & { complete: boolean } {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, text: '', complete: false };
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = bytes.subarray(end + 4);
  const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
  return {
    status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0),
    headers,
    text: body.toString('utf8'),
    complete: length !== undefined && body.length >= length,
  };
}

/** A request written byte for byte on a raw socket (for what an HTTP client would not send). */
export function raw(request: FromWorld<string | Buffer>): Send {
  return async (w) => {
    const answer = await rawExchange(w.port, resolve(request, w));
    return { status: answer.status, headers: answer.headers, text: answer.text, sent: [] };
  };
}

/** Runs one case and asserts everything the catalogue promises. */
export async function expectRefusal(w: World, c: HostileCase): Promise<void> {
  await w.t.settle();
  const headBefore = await w.t.store.headPosition();
  const objectsBefore = w.objectFiles();
  const logsBefore = w.logLines().length;

  const answer = await c.send(w);
  const context = `${c.endpoint} — ${c.input}: ${answer.status} ${answer.text.slice(0, 500)}`;
  expect(answer.status, context).toBe(c.status);
  expect(String(answer.headers['content-type']), context).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(answer.text) as Record<string, unknown>;
  expect(body, context).toMatchObject({ type: expect.any(String), title: expect.any(String), status: c.status, detail: expect.any(String), code: c.code });
  expect(String(body.type)).toMatch(/^https:\/\/[^\s]+$/);
  expect(body.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
  expect(answer.text, context).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack trace
  const leaked = [...w.secrets(), ...answer.sent].filter((secret) => answer.text.includes(secret));
  expect(leaked.map((s) => `${s.slice(0, 6)}… (${s.length} chars)`), `${context}\nechoes a secret`).toEqual([]);

  const health = await w.t.http().get('/health');
  expect(health.status, 'GET /health after the case').toBe(200);
  await w.t.settle();
  expect(await w.t.store.headPosition(), `${context}\nappended events`).toEqual(headBefore);
  expect(w.objectFiles(), `${context}\nwrote or removed objects`).toEqual(objectsBefore);
  const logged = w.logLines().slice(logsBefore).join('');
  const loggedSecrets = [...w.secrets(), ...answer.sent].filter((secret) => logged.includes(secret));
  expect(loggedSecrets.map((s) => `${s.slice(0, 6)}… (${s.length} chars)`), `${context}\nlogged a secret`).toEqual([]);
}

/** One describe block per catalogue: one world, one test per case. */
export function runCatalogue(title: string, cases: readonly HostileCase[], options: TestAppOptions = {}): void {
  describe(title, () => {
    let w: World;
    beforeAll(async () => {
      w = await buildWorld(options);
    }, 180_000);
    afterAll(async () => {
      await w?.close();
    });
    for (const c of cases) {
      it(`${c.endpoint} — ${c.input} → ${c.status} ${c.code}`, async () => {
        await expectRefusal(w, c);
      });
    }
  });
}
