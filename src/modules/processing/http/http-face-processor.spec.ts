import { createServer } from 'node:net';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeAiServer } from '../../../../test/support/ai-server/fake-ai-server';
import type { Purpose } from '../../../events/purposes';
import { ProcessingError, type ProcessingInput } from '../face-processor.port';
import { HttpFaceProcessor, type HttpFaceProcessorOptions } from './http-face-processor';

const TOKEN = 'test-token-0123456789abcdef';

let server: FakeAiServer;
let baseUrl: string;
let png: Buffer;
let jpeg: Buffer;

function adapter(options: Partial<HttpFaceProcessorOptions> = {}): HttpFaceProcessor {
  return new HttpFaceProcessor({ baseUrl, token: TOKEN, retryBaseDelayMs: 5, retryMaxDelayMs: 20, ...options });
}

function input(purpose: Purpose, image = png, contentType = 'image/png', faces = [{ x: 4, y: 4, width: 20, height: 20 }]): ProcessingInput {
  return { jobId: '0b0e6d2c-1111-4000-8000-00000000000a', purpose, image, contentType, faces, options: {} };
}

async function failure(promise: Promise<unknown>): Promise<ProcessingError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProcessingError);
    return error as ProcessingError;
  }
  throw new Error('expected a ProcessingError');
}

beforeAll(async () => {
  const raw = Buffer.alloc(48 * 32 * 3);
  for (let i = 0; i < raw.length; i += 3) {
    raw[i] = 40 + ((i / 3) % 48) * 4;
    raw[i + 1] = 200 - ((i / 3) % 48) * 3;
    raw[i + 2] = 90;
  }
  png = await sharp(raw, { raw: { width: 48, height: 32, channels: 3 } }).png().toBuffer();
  jpeg = await sharp(raw, { raw: { width: 48, height: 32, channels: 3 } }).jpeg().toBuffer();
  server = new FakeAiServer({ token: TOKEN });
  baseUrl = await server.start();
});

afterAll(async () => {
  await server.stop();
});

afterEach(() => {
  server.requests.length = 0;
});

describe('HttpFaceProcessor: configuration', () => {
  it('names the recipient ai-server:<host> and posts to {baseUrl}/v1/process', () => {
    const remote = new HttpFaceProcessor({ baseUrl: 'https://ai-1.studio.internal:8443/gpu/' });
    expect(remote.identityFor('ai-edit')).toEqual({ name: 'ai-server:ai-1.studio.internal:8443' });
    expect(adapter().identityFor('time-painting').name).toBe(`ai-server:${new URL(baseUrl).host}`);
  });

  it('refuses plain HTTP to anything but loopback unless told otherwise, and credentials in the URL', () => {
    expect(() => new HttpFaceProcessor({ baseUrl: 'http://ai.studio.example' })).toThrow(/HTTPS/);
    expect(() => new HttpFaceProcessor({ baseUrl: 'http://ai.studio.example', allowInsecureHttp: true })).not.toThrow();
    expect(() => new HttpFaceProcessor({ baseUrl: 'https://user:pw@ai.studio.example' })).toThrow(/token/);
    expect(() => new HttpFaceProcessor({ baseUrl: 'ftp://ai.studio.example' })).toThrow();
    expect(() => new HttpFaceProcessor({ baseUrl: 'not a url' })).toThrow();
  });

  it('supports all six purposes by default, or the configured ones', async () => {
    expect(adapter().supports('photo-restore')).toBe(true);
    const narrow = adapter({ purposes: ['ai-edit'] });
    expect(narrow.supports('time-painting')).toBe(false);
    expect((await failure(narrow.process(input('time-painting')))).code).toBe('PROCESSOR_UNSUPPORTED');
    expect(server.requests).toHaveLength(0);
  });
});

describe('HttpFaceProcessor: against the fake AI server', () => {
  it('sends the documented request and returns the inspected artwork', async () => {
    const out = await adapter().process(input('time-painting'));
    expect(out.artwork).toMatchObject({ contentType: 'image/png', width: 48, height: 32 });
    const stats = await sharp(out.artwork!.bytes).stats();
    const [r, g, b] = stats.channels.map((c) => c.mean);
    expect(r).toBeGreaterThan(g); // sepia: red > green > blue
    expect(g).toBeGreaterThan(b);
    expect(out.summary).toEqual({ operation: 'time-painting', model: 'fake-ai' });
    expect(out.intermediates).toEqual([]);
    expect(server.requests).toEqual([
      {
        authorized: true,
        idempotencyKey: '0b0e6d2c-1111-4000-8000-00000000000a',
        answeredStatus: 200,
        jobId: '0b0e6d2c-1111-4000-8000-00000000000a',
        purpose: 'time-painting',
        contentType: 'image/png',
        faces: 1,
        imageBytes: png.length,
      },
    ]);
  });

  it('keeps JPEG as the server returns it and accepts a verification without artwork', async () => {
    const edited = await adapter().process(input('ai-edit', jpeg, 'image/jpeg'));
    expect(edited.artwork).toMatchObject({ contentType: 'image/jpeg', width: 48, height: 32 });
    const verified = await adapter().process(input('face-detection-verification'));
    expect(verified.artwork).toBeUndefined();
    expect(verified.summary).toMatchObject({ facesReported: 1, facesVerified: 1 });
  });

  it('answers a 4xx with PROCESSOR_REJECTED, not retryable, after a single attempt', async () => {
    server.failNext(1, 422);
    const error = await failure(adapter().process(input('ai-edit')));
    expect(error).toMatchObject({ code: 'PROCESSOR_REJECTED', retryable: false });
    expect(error.message).toContain('HTTP 422 REQUEST_REFUSED');
    expect(server.requests).toHaveLength(1);
  });

  it('does not follow redirects: the image goes to the configured server only', async () => {
    server.failNext(1, 307);
    const error = await failure(adapter().process(input('ai-edit')));
    expect(error).toMatchObject({ code: 'PROCESSOR_REJECTED', retryable: false });
    expect(error.message).toContain('HTTP 307');
    expect(server.requests).toHaveLength(1);
  });

  it('answers a wrong token with PROCESSOR_REJECTED and never puts the token in the message', async () => {
    const error = await failure(adapter({ token: 'wrong-token-value' }).process(input('ai-edit')));
    expect(error).toMatchObject({ code: 'PROCESSOR_REJECTED', retryable: false });
    expect(error.message).toContain('401');
    expect(error.message).not.toContain('wrong-token-value');
    expect(server.requests[0].authorized).toBe(false);
  });

  it('retries 5xx with backoff and succeeds', async () => {
    server.failNext(2, 503);
    const out = await adapter({ maxRetries: 2 }).process(input('time-painting'));
    expect(out.artwork?.width).toBe(48);
    expect(server.requests.map((r) => r.answeredStatus)).toEqual([503, 503, 200]);
  });

  it('honours a short Retry-After and also retries 429', async () => {
    server.failNext(1, 429, 0);
    const out = await adapter().process(input('time-painting'));
    expect(out.artwork).toBeDefined();
    expect(server.requests.map((r) => r.answeredStatus)).toEqual([429, 200]);
  });

  it('gives up after maxRetries with a retryable PROCESSOR_UNAVAILABLE', async () => {
    server.failNext(3, 500);
    const error = await failure(adapter({ maxRetries: 2 }).process(input('time-painting')));
    expect(error).toMatchObject({ code: 'PROCESSOR_UNAVAILABLE', retryable: true });
    expect(server.requests).toHaveLength(3);
  });

  it('answers a slow server with a retryable PROCESSOR_TIMEOUT', async () => {
    server.delayNext(1, 10_000);
    const error = await failure(adapter({ timeoutMs: 150 }).process(input('ai-edit')));
    expect(error).toMatchObject({ code: 'PROCESSOR_TIMEOUT', retryable: true });
    // A later request on the same server works again.
    expect((await adapter().process(input('ai-edit'))).artwork).toBeDefined();
  });

  it.each([
    ['not-json', 'malformed JSON'],
    ['extra-field', 'outside the contract'],
    ['script-artwork', 'CONTENT_TYPE_MISMATCH'],
    ['wrong-size', 'width does not match'],
    ['no-artwork', 'no artwork'],
    ['template-in-summary', 'biometric'],
  ] as const)('refuses a malformed answer (%s) with PROCESSOR_REJECTED', async (how, hint) => {
    server.malformNext(1, how);
    const error = await failure(adapter().process(input('time-painting')));
    expect(error).toMatchObject({ code: 'PROCESSOR_REJECTED', retryable: false });
    expect(error.message).toContain(hint);
  });

  it('refuses an answer larger than maxResponseBytes', async () => {
    const error = await failure(adapter({ maxResponseBytes: 200 }).process(input('time-painting')));
    expect(error.code).toBe('PROCESSOR_REJECTED');
  });
});

describe('HttpFaceProcessor: unreachable server', () => {
  it('retries network errors, then answers PROCESSOR_UNAVAILABLE', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const calls: number[] = [];
    const counting: typeof fetch = (url, init) => {
      calls.push(1);
      return fetch(url, init);
    };
    const error = await failure(
      new HttpFaceProcessor({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 2, retryBaseDelayMs: 1, fetch: counting }).process(input('ai-edit')),
    );
    expect(error).toMatchObject({ code: 'PROCESSOR_UNAVAILABLE', retryable: true });
    expect(calls).toHaveLength(3);
  });
});
