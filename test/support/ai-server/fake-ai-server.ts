import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { isPurpose, type Purpose } from '../../../src/events/purposes';
import { decodeBase64Strict } from '../../../src/modules/facial-data/image-inspection/base64';
import { ImageInputError } from '../../../src/modules/facial-data/image-inspection/image-input.error';
import { inspectImage, type SupportedImageType } from '../../../src/modules/facial-data/image-inspection/image-inspector';

export interface FakeAiServerOptions {
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401). */
  readonly token?: string;
  /** Largest request body (default 32 MiB; beyond it 413). */
  readonly maxBodyBytes?: number;
}

/** What the server saw of one request: metadata only, never the image. */
export interface ReceivedRequest {
  readonly jobId?: string;
  readonly purpose?: string;
  readonly contentType?: string;
  readonly faces?: number;
  readonly imageBytes?: number;
  readonly authorized: boolean;
  readonly idempotencyKey?: string;
  readonly answeredStatus: number;
}

export type Malformation = 'not-json' | 'extra-field' | 'script-artwork' | 'wrong-size' | 'no-artwork' | 'template-in-summary';

type Fault =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterSeconds?: number }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'malformed'; readonly how: Malformation };

const REQUEST_KEYS = new Set(['jobId', 'purpose', 'contentType', 'imageBase64', 'faces', 'options']);
const SEPIA: [[number, number, number], [number, number, number], [number, number, number]] = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
];

/**
 * A local stand-in for the studio's AI server, implementing the documented contract
 * (`POST /v1/process`) with real sharp operations: time-painting = sepia tint, ai-edit = a
 * saturation/brightness lift, photo-enlarge = Lanczos 2×, photo-restore = median + normalise,
 * erase-pen = blur, face-detection-verification = a summary without artwork.
 *
 * Fault injection applies to the next requests in order: `failNext(n, status)`, `delayNext(n, ms)`
 * (the answer is held back; timers are cleared on stop), `malformNext(n, how)`.
 */
export class FakeAiServer {
  readonly requests: ReceivedRequest[] = [];
  private readonly faults: Fault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: Server | undefined;

  constructor(private readonly options: FakeAiServerOptions = {}) {}

  /** Listens on a free loopback port; resolves with the base URL. */
  async start(): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch(() => {
        if (!response.headersSent) this.problem(response, 500, 'INTERNAL', 'fake server failure');
        else response.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  failNext(count: number, status: number, retryAfterSeconds?: number): this {
    for (let i = 0; i < count; i++) this.faults.push({ kind: 'status', status, retryAfterSeconds });
    return this;
  }

  delayNext(count: number, ms: number): this {
    for (let i = 0; i < count; i++) this.faults.push({ kind: 'delay', ms });
    return this;
  }

  malformNext(count: number, how: Malformation): this {
    for (let i = 0; i < count; i++) this.faults.push({ kind: 'malformed', how });
    return this;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const authorized = !this.options.token || request.headers.authorization === `Bearer ${this.options.token}`;
    const idempotencyKey = typeof request.headers['idempotency-key'] === 'string' ? request.headers['idempotency-key'] : undefined;
    const record = (answeredStatus: number, seen: Partial<ReceivedRequest> = {}): void => {
      this.requests.push({ authorized, idempotencyKey, answeredStatus, ...seen });
    };

    if (request.method !== 'POST' || request.url !== '/v1/process') {
      record(404);
      return this.problem(response, 404, 'NOT_FOUND', 'no such endpoint');
    }
    const body = await readBody(request, this.options.maxBodyBytes ?? 32 * 1024 * 1024);
    const fault = this.faults.shift();
    if (fault?.kind === 'delay') await this.sleep(fault.ms);
    if (!this.server) return; // stopped while waiting
    if (fault?.kind === 'status') {
      record(fault.status);
      if (fault.retryAfterSeconds !== undefined) response.setHeader('retry-after', String(fault.retryAfterSeconds));
      if (fault.status >= 300 && fault.status < 400) response.setHeader('location', 'http://127.0.0.1:1/v1/process');
      return this.problem(response, fault.status, fault.status >= 500 ? 'UPSTREAM_FAILURE' : 'REQUEST_REFUSED', 'injected failure');
    }
    if (!authorized) {
      record(401);
      return this.problem(response, 401, 'UNAUTHORIZED', 'bad or missing token');
    }
    if (body === undefined) {
      record(413);
      return this.problem(response, 413, 'PAYLOAD_TOO_LARGE', 'request body too large');
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      record(415);
      return this.problem(response, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
    }

    let json: Record<string, unknown>;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      json = parsed as Record<string, unknown>;
    } catch {
      record(400);
      return this.problem(response, 400, 'MALFORMED_JSON', 'the body is not a JSON object');
    }
    const { jobId, purpose, contentType, imageBase64, faces, options } = json;
    const seen = {
      jobId: typeof jobId === 'string' ? jobId : undefined,
      purpose: typeof purpose === 'string' ? purpose : undefined,
      contentType: typeof contentType === 'string' ? contentType : undefined,
      faces: Array.isArray(faces) ? faces.length : undefined,
    };
    if (Object.keys(json).some((key) => !REQUEST_KEYS.has(key)) || typeof jobId !== 'string' || !Array.isArray(faces)) {
      record(400, seen);
      return this.problem(response, 400, 'INVALID_REQUEST', 'fields outside the contract or missing');
    }
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      record(400, seen);
      return this.problem(response, 400, 'INVALID_REQUEST', 'options must be an object');
    }
    if (!isPurpose(purpose)) {
      record(422, seen);
      return this.problem(response, 422, 'PURPOSE_NOT_ALLOWED', 'unknown purpose');
    }
    let image: Buffer;
    let type: SupportedImageType;
    try {
      image = decodeBase64Strict(imageBase64, 20 * 1024 * 1024);
      type = inspectImage(image, String(contentType), { maxPixels: 100_000_000 }).contentType;
    } catch (error) {
      if (!(error instanceof ImageInputError)) throw error;
      record(error.status, seen);
      return this.problem(response, error.status, error.code, 'image refused');
    }

    const result = await this.run(purpose, image, type, faces.length);
    record(200, { ...seen, imageBytes: image.length });
    this.send(response, 200, malform(result, fault?.kind === 'malformed' ? fault.how : undefined));
  }

  private async run(purpose: Purpose, image: Buffer, type: SupportedImageType, faces: number): Promise<Record<string, unknown>> {
    if (purpose === 'face-detection-verification') {
      return { summary: { facesReported: faces, facesVerified: faces, facesRejected: 0, model: 'fake-ai' } };
    }
    const source = sharp(image).autoOrient();
    const meta = await sharp(image).autoOrient().metadata();
    const width = meta.autoOrient?.width ?? meta.width ?? 1;
    const height = meta.autoOrient?.height ?? meta.height ?? 1;
    let pipeline = source;
    switch (purpose) {
      case 'time-painting':
        pipeline = source.recomb(SEPIA);
        break;
      case 'ai-edit':
        pipeline = source.modulate({ saturation: 1.3, brightness: 1.05 });
        break;
      case 'photo-enlarge':
        pipeline = source.resize(width * 2, height * 2, { kernel: 'lanczos3', fit: 'fill' });
        break;
      case 'photo-restore':
        pipeline = source.median(3).normalise();
        break;
      case 'erase-pen':
        pipeline = source.blur(8);
        break;
    }
    const out = type === 'image/jpeg' ? pipeline.jpeg({ quality: 90 }) : pipeline.png();
    const { data, info } = await out.toBuffer({ resolveWithObject: true });
    return {
      artworkBase64: data.toString('base64'),
      contentType: type === 'image/jpeg' ? 'image/jpeg' : 'image/png',
      width: info.width,
      height: info.height,
      summary: { operation: purpose, model: 'fake-ai' },
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private problem(response: ServerResponse, status: number, code: string, detail: string): void {
    response.writeHead(status, { 'content-type': 'application/problem+json' });
    response.end(JSON.stringify({ type: 'about:blank', title: 'AI server error', status, detail, code }));
  }

  private send(response: ServerResponse, status: number, body: string): void {
    if (response.destroyed) return;
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(body);
  }
}

function malform(result: Record<string, unknown>, how: Malformation | undefined): string {
  switch (how) {
    case undefined:
      return JSON.stringify(result);
    case 'not-json':
      return '{"artworkBase64": "iVBOR';
    case 'extra-field':
      return JSON.stringify({ ...result, debugImage: 'QUJD' });
    case 'script-artwork':
      return JSON.stringify({ ...result, artworkBase64: Buffer.from('<script>alert(1)</script>').toString('base64') });
    case 'wrong-size':
      return JSON.stringify({ ...result, width: Number(result.width ?? 0) + 1 });
    case 'no-artwork':
      return JSON.stringify({ summary: result.summary });
    case 'template-in-summary':
      return JSON.stringify({ ...result, summary: { faceEmbedding: '0.1,0.2' } });
  }
}

/** Resolves with the body, or undefined once it exceeds `limit` (the rest is drained). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
