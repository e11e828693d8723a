import { PURPOSES, type Purpose } from '../../../events/purposes';
import { decodeBase64Strict } from '../../facial-data/image-inspection/base64';
import { BIOMETRIC_FIELD_PATTERN } from '../../facial-data/image-inspection/face-boxes';
import { ImageInputError } from '../../facial-data/image-inspection/image-input.error';
import { inspectImage, isSupportedImageType } from '../../facial-data/image-inspection/image-inspector';
import {
  FaceProcessor,
  ProcessingError,
  type ProcessingInput,
  type ProcessingOutput,
  type ProcessorIdentity,
} from '../face-processor.port';

export interface HttpFaceProcessorOptions {
  /** e.g. `https://ai-1.studio.internal`; the adapter posts to `{baseUrl}/v1/process`. */
  readonly baseUrl: string;
  /** Per attempt, including reading the answer (default 30,000). */
  readonly timeoutMs?: number;
  /** Retries after a network error or a 5xx / 429 / 408 answer (default 2). Timeouts are not retried here. */
  readonly maxRetries?: number;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** First backoff delay; doubles per retry, with jitter (default 250). */
  readonly retryBaseDelayMs?: number;
  /** Cap on one backoff delay, also on a server's Retry-After (default 5,000). */
  readonly retryMaxDelayMs?: number;
  /** Largest answer body accepted (default 64 MiB). */
  readonly maxResponseBytes?: number;
  /** Largest artwork accepted, decoded bytes (default 40 MiB) and width × height (default 400,000,000). */
  readonly maxArtworkBytes?: number;
  readonly maxArtworkPixels?: number;
  /** Largest side of an artwork (default 40,000: an enlarged 20,000-pixel original). */
  readonly maxArtworkSide?: number;
  /** The purposes this server performs (default all six). */
  readonly purposes?: readonly Purpose[];
  /**
   * Images travel over HTTPS only (the privacy policy says so). Plain HTTP is accepted for loopback
   * hosts (tests, a sidecar on the same machine) or when this is set explicitly.
   */
  readonly allowInsecureHttp?: boolean;
  /** Injected for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

const PURPOSES_WITHOUT_ARTWORK: ReadonlySet<Purpose> = new Set(['face-detection-verification']);
const RESPONSE_KEYS = new Set(['artworkBase64', 'contentType', 'width', 'height', 'summary']);
const SUMMARY_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_SUMMARY_KEYS = 32;
const MAX_SUMMARY_STRING = 256;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

class Retryable extends Error {
  constructor(
    readonly status: number | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super('retryable');
  }
}

/**
 * FaceProcessor adapter for the studio's own AI servers (see the AI server contract in the
 * README): `POST {baseUrl}/v1/process` with the image as base64 in JSON, bearer token optional.
 *
 * Failures: a timeout (AbortSignal) is PROCESSOR_TIMEOUT, retryable by the job; network errors and
 * 5xx/429/408 answers are retried here with exponential backoff, then PROCESSOR_UNAVAILABLE
 * (retryable); any other 4xx is PROCESSOR_REJECTED (not retryable); a malformed answer, or an
 * artwork that fails the image inspector, is PROCESSOR_REJECTED. Redirects are not followed (the
 * image must reach only the configured server): a 3xx is PROCESSOR_REJECTED. Nothing is logged, and error
 * messages never carry image bytes, the token or the server's body.
 */
export class HttpFaceProcessor extends FaceProcessor {
  private readonly endpoint: URL;
  private readonly identity: ProcessorIdentity;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly maxResponseBytes: number;
  private readonly maxArtworkBytes: number;
  private readonly maxArtworkPixels: number;
  private readonly maxArtworkSide: number;
  private readonly purposes: ReadonlySet<Purpose>;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: HttpFaceProcessorOptions) {
    super();
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new RangeError('the AI server base URL is not a valid URL');
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new RangeError('the AI server base URL must be http(s)');
    if (base.username || base.password) throw new RangeError('put the AI server credentials in the token, not in the URL');
    if (base.protocol === 'http:' && !options.allowInsecureHttp && !isLoopback(base.hostname)) {
      throw new RangeError('the AI server must be reached over HTTPS (plain HTTP only for loopback or with allowInsecureHttp)');
    }
    base.pathname = `${base.pathname.replace(/\/+$/, '')}/v1/process`;
    base.search = '';
    base.hash = '';
    this.endpoint = base;
    this.identity = Object.freeze({ name: `ai-server:${base.host}` });
    this.timeoutMs = positive(options.timeoutMs ?? 30_000, 'timeoutMs');
    this.maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 2));
    this.retryBaseDelayMs = Math.max(0, options.retryBaseDelayMs ?? 250);
    this.retryMaxDelayMs = Math.max(0, options.retryMaxDelayMs ?? 5_000);
    this.maxResponseBytes = positive(options.maxResponseBytes ?? 64 * 1024 * 1024, 'maxResponseBytes');
    this.maxArtworkBytes = positive(options.maxArtworkBytes ?? 40 * 1024 * 1024, 'maxArtworkBytes');
    this.maxArtworkPixels = positive(options.maxArtworkPixels ?? 400_000_000, 'maxArtworkPixels');
    this.maxArtworkSide = positive(options.maxArtworkSide ?? 40_000, 'maxArtworkSide');
    this.purposes = new Set(options.purposes ?? PURPOSES);
    this.token = options.token;
    this.fetchImpl = options.fetch ?? fetch;
  }

  identityFor(_purpose: Purpose): ProcessorIdentity {
    return this.identity;
  }

  supports(purpose: Purpose): boolean {
    return this.purposes.has(purpose);
  }

  async process(input: ProcessingInput): Promise<ProcessingOutput> {
    if (!this.supports(input.purpose)) {
      throw new ProcessingError('PROCESSOR_UNSUPPORTED', `${this.identity.name} is not configured for ${input.purpose}`);
    }
    const body = JSON.stringify({
      jobId: input.jobId,
      purpose: input.purpose,
      contentType: input.contentType,
      imageBase64: input.image.toString('base64'),
      faces: input.faces.map(({ x, y, width, height }) => ({ x, y, width, height })),
      options: input.options,
    });

    for (let attempt = 0; ; attempt++) {
      try {
        const json = await this.attempt(body, input.jobId);
        return this.readAnswer(json, input.purpose);
      } catch (error) {
        if (!(error instanceof Retryable)) throw error;
        if (attempt >= this.maxRetries) {
          const what = error.status ? `answered HTTP ${error.status}` : 'could not be reached';
          throw new ProcessingError('PROCESSOR_UNAVAILABLE', `${this.identity.name} ${what} after ${attempt + 1} attempts`, true);
        }
        await delay(this.backoff(attempt, error.retryAfterMs));
      }
    }
  }

  /** One request; resolves with the parsed JSON of a 200, throws Retryable or ProcessingError. */
  private async attempt(body: string, jobId: string): Promise<unknown> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json',
        'idempotency-key': jobId,
      };
      if (this.token) headers.authorization = `Bearer ${this.token}`;

      let response: Response;
      try {
        response = await this.fetchImpl(this.endpoint, { method: 'POST', headers, body, signal: controller.signal, redirect: 'manual' });
      } catch {
        if (controller.signal.aborted) throw this.timeout();
        throw new Retryable(undefined, undefined);
      }

      if (response.status === 200) {
        const text = await this.readBody(response, controller);
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw rejected('the AI server answered with malformed JSON');
        }
      }

      const status = response.status;
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      if (status >= 500 || status === 429 || status === 408) {
        await response.body?.cancel().catch(() => undefined);
        throw new Retryable(status, retryAfterMs);
      }
      const code = await this.problemCode(response, controller);
      throw rejected(`the AI server refused the request (HTTP ${status}${code ? ` ${code}` : ''})`);
    } finally {
      clearTimeout(timer);
    }
  }

  private timeout(): ProcessingError {
    return new ProcessingError('PROCESSOR_TIMEOUT', `${this.identity.name} did not answer within ${this.timeoutMs} ms`, true);
  }

  /** Reads the body with a size cap; a timeout while reading is a timeout. */
  private async readBody(response: Response, controller: AbortController): Promise<string> {
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > this.maxResponseBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw rejected('the AI server answer is too large');
    }
    if (!response.body) return '';
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > this.maxResponseBytes) {
          await reader.cancel().catch(() => undefined);
          throw rejected('the AI server answer is too large');
        }
        chunks.push(value);
      }
    } catch (error) {
      if (error instanceof ProcessingError) throw error;
      if (controller.signal.aborted) throw this.timeout();
      throw new Retryable(undefined, undefined);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** The stable `code` of a problem+json refusal, if the server sent one. Never the free text. */
  private async problemCode(response: Response, controller: AbortController): Promise<string | undefined> {
    try {
      const parsed = JSON.parse(await this.readBody(response, controller)) as unknown;
      const code = isRecord(parsed) ? parsed.code : undefined;
      return typeof code === 'string' && ERROR_CODE.test(code) ? code : undefined;
    } catch (error) {
      if (error instanceof ProcessingError && error.code === 'PROCESSOR_TIMEOUT') throw error;
      return undefined;
    }
  }

  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    const exponential = this.retryBaseDelayMs * 2 ** attempt;
    const jittered = exponential / 2 + Math.random() * (exponential / 2);
    return Math.min(this.retryMaxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
  }

  private readAnswer(json: unknown, purpose: Purpose): ProcessingOutput {
    if (!isRecord(json)) throw rejected('the AI server answer is not a JSON object');
    const unknown = Object.keys(json).filter((key) => !RESPONSE_KEYS.has(key));
    if (unknown.length > 0) throw rejected('the AI server answer has fields outside the contract');

    const summary = readSummary(json.summary);
    const wantsArtwork = !PURPOSES_WITHOUT_ARTWORK.has(purpose);
    if (json.artworkBase64 === undefined) {
      if (wantsArtwork) throw rejected(`the AI server returned no artwork for ${purpose}`);
      if (json.contentType !== undefined || json.width !== undefined || json.height !== undefined) {
        throw rejected('the AI server answer describes an artwork it did not send');
      }
      return { intermediates: [], summary };
    }
    if (!wantsArtwork) throw rejected(`the AI server returned an artwork for ${purpose}, which produces none`);

    const contentType = json.contentType;
    if (typeof contentType !== 'string' || !isSupportedImageType(contentType)) {
      throw rejected('the AI server artwork has no supported contentType');
    }
    let bytes: Buffer;
    let inspection: ReturnType<typeof inspectImage>;
    try {
      bytes = decodeBase64Strict(json.artworkBase64, this.maxArtworkBytes);
      inspection = inspectImage(bytes, contentType, { maxPixels: this.maxArtworkPixels, maxSide: this.maxArtworkSide });
    } catch (error) {
      if (error instanceof ImageInputError) throw rejected(`the AI server artwork was refused: ${error.code}`);
      throw error;
    }
    for (const [field, measured] of [
      ['width', inspection.width],
      ['height', inspection.height],
    ] as const) {
      const stated = json[field];
      if (stated === undefined) continue;
      if (stated !== measured) throw rejected(`the AI server artwork's ${field} does not match its bytes`);
    }
    return {
      artwork: { bytes, contentType: inspection.contentType, width: inspection.width, height: inspection.height },
      intermediates: [],
      summary,
    };
  }
}

function readSummary(value: unknown): Record<string, string | number | boolean> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw rejected('the AI server summary is not an object');
  const entries = Object.entries(value);
  if (entries.length > MAX_SUMMARY_KEYS) throw rejected('the AI server summary has too many fields');
  const summary: Record<string, string | number | boolean> = {};
  for (const [key, item] of entries) {
    if (!SUMMARY_KEY.test(key)) throw rejected('the AI server summary has an invalid field name');
    // The summary is stored with the job; a biometric template must never get in.
    if (BIOMETRIC_FIELD_PATTERN.test(key)) throw rejected('the AI server summary carries a biometric template field');
    if (typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item))) summary[key] = item;
    else if (typeof item === 'string' && item.length <= MAX_SUMMARY_STRING) summary[key] = item;
    else throw rejected('the AI server summary may only hold short strings, numbers and booleans');
  }
  return summary;
}

function rejected(message: string): ProcessingError {
  return new ProcessingError('PROCESSOR_REJECTED', message, false);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number`);
  return value;
}

/** Retry-After in delta-seconds; undefined when absent or not a number (HTTP dates are ignored). */
function parseRetryAfter(header: string | null): number | undefined {
  const value = header?.trim();
  return value && /^\d{1,6}$/.test(value) ? Number(value) * 1000 : undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
