import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import OSS from 'ali-oss';

/**
 * A small typed wrapper around the `ali-oss` 6.23 client, for what `@types/ali-oss` lacks or gets
 * wrong: the `retryMax` / `agent` / `httpsAgent` / `sldEnable` options, lifecycle `expiration`,
 * `deleteMulti` answering `{ Key }` objects (typed as strings), `getBucketInfo` typed `any`, and
 * the error shape (`status`, `code`, `requestId`). Only the calls the adapter makes are exposed,
 * each normalised to a precise result.
 *
 * (`import OSS from 'ali-oss'` rather than `import OSS = require(...)`: the vitest SWC transform
 * targets ES modules and rejects import assignments; with esModuleInterop both load the same
 * CommonJS export.)
 */

export interface OssClientOptions {
  /** In the client's form, `oss-cn-hangzhou`. */
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly endpoint?: string;
  readonly secure: boolean;
  readonly internal: boolean;
  readonly cname: boolean;
  /** Path-style requests (`/bucket/key`). */
  readonly sldEnable: boolean;
  readonly authorizationV4: boolean;
  /** Connect and response timeout, ms. */
  readonly timeout: number;
  /** The client's own retries (network errors only). */
  readonly retryMax: number;
  readonly agent: HttpAgent;
  readonly httpsAgent: HttpsAgent;
}

export interface OssListedObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface OssListPage {
  readonly objects: readonly OssListedObject[];
  readonly isTruncated: boolean;
  readonly nextContinuationToken: string | null;
}

export interface OssListQuery {
  readonly prefix: string;
  readonly maxKeys: number;
  readonly continuationToken?: string;
}

export interface OssObjectHead {
  readonly size: number;
  readonly lastModified: Date;
}

/** A lifecycle rule as ali-oss reads and writes it (first letters lower-cased). */
export interface OssLifecycleRule {
  id?: string;
  prefix: string;
  status: 'Enabled' | 'Disabled';
  expiration?: { days?: number | string; createdBeforeDate?: string; expiredObjectDeleteMarker?: string | boolean };
  /** Other actions and filters (transition, tag, abortMultipartUpload …) are kept as read. */
  [field: string]: unknown;
}

/** What ali-oss errors carry (HTTP errors, and urllib network errors with status -1 / -2). */
export interface OssErrorInfo {
  readonly name?: string;
  readonly status?: number;
  readonly code?: string;
  readonly requestId?: string;
  readonly message: string;
}

export function ossErrorInfo(err: unknown): OssErrorInfo {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const record = err as Record<string, unknown>;
  const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  return {
    name: str(record.name),
    status: typeof record.status === 'number' ? record.status : undefined,
    code: str(record.code),
    requestId: str(record.requestId),
    message: str(record.message) ?? '',
  };
}

/** 404 NoSuchKey. (A HEAD 404 always reads as NoSuchKey: ali-oss does not decode x-oss-err for 404.) */
export function isNoSuchKey(err: unknown): boolean {
  const info = ossErrorInfo(err);
  return info.status === 404 && info.code === 'NoSuchKey';
}

interface ResponseMeta {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The raw client surface used here, with the shapes ali-oss 6.23 really returns. */
interface RawOssClient {
  put(name: string, file: Buffer, options: { headers: Record<string, string> }): Promise<{ res: ResponseMeta }>;
  get(name: string): Promise<{ content: unknown; res: ResponseMeta }>;
  head(name: string): Promise<{ status: number; res: ResponseMeta }>;
  delete(name: string): Promise<{ res: ResponseMeta }>;
  deleteMulti(names: string[], options: { quiet: boolean }): Promise<{ deleted: unknown }>;
  listV2(
    query: Record<string, string | number>,
  ): Promise<{ objects: unknown; isTruncated: boolean; nextContinuationToken: string | null }>;
  getBucketInfo(name: string): Promise<{ bucket: unknown }>;
  getBucketLifecycle(name: string): Promise<{ rules: OssLifecycleRule[] | null }>;
  putBucketLifecycle(name: string, rules: OssLifecycleRule[]): Promise<unknown>;
}

/** A malformed answer from OSS (or from something pretending to be OSS). */
export class OssProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OssProtocolError';
  }
}

function headerValue(headers: ResponseMeta['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export class OssClient {
  private readonly raw: RawOssClient;
  readonly bucket: string;

  constructor(options: OssClientOptions) {
    this.bucket = options.bucket;
    const clientOptions: OSS.Options = options;
    this.raw = new OSS(clientOptions) as unknown as RawOssClient;
  }

  /** PutObject from a Buffer (a string would be read as a file path). */
  async put(key: string, body: Buffer, headers: Record<string, string>): Promise<void> {
    if (!Buffer.isBuffer(body)) throw new TypeError('OssClient.put takes a Buffer');
    await this.raw.put(key, body, { headers: { ...headers } });
  }

  async get(key: string): Promise<Buffer> {
    const { content } = await this.raw.get(key);
    if (Buffer.isBuffer(content)) return content;
    if (content === undefined || content === null) return Buffer.alloc(0);
    if (content instanceof Uint8Array) return Buffer.from(content);
    throw new OssProtocolError('GetObject answered no body');
  }

  async head(key: string): Promise<OssObjectHead> {
    const { res } = await this.raw.head(key);
    const size = Number(headerValue(res.headers, 'content-length'));
    const lastModified = new Date(headerValue(res.headers, 'last-modified') ?? '');
    if (!Number.isFinite(size) || Number.isNaN(lastModified.getTime())) {
      throw new OssProtocolError('HeadObject answered without Content-Length or Last-Modified');
    }
    return { size, lastModified };
  }

  /** DeleteObject: OSS answers 204 for a missing key too. */
  async delete(key: string): Promise<void> {
    await this.raw.delete(key);
  }

  /** DeleteMultipleObjects (at most 1000 keys), verbose: answers the keys OSS reports deleted. */
  async deleteMulti(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0 || keys.length > 1000) throw new RangeError('deleteMulti takes 1 to 1000 keys');
    const { deleted } = await this.raw.deleteMulti([...keys], { quiet: false });
    if (!Array.isArray(deleted)) throw new OssProtocolError('DeleteMultipleObjects answered no Deleted list');
    const keysDeleted = new Set<string>();
    for (const entry of deleted as unknown[]) {
      const key = typeof entry === 'object' && entry !== null ? (entry as { Key?: unknown }).Key : undefined;
      if (typeof key !== 'string') throw new OssProtocolError('DeleteMultipleObjects answered a Deleted entry without Key');
      keysDeleted.add(key);
    }
    return keysDeleted;
  }

  /** ListObjectsV2 (`list` crashes on entries without <Owner>). */
  async listV2(query: OssListQuery): Promise<OssListPage> {
    const params: Record<string, string | number> = { prefix: query.prefix, 'max-keys': query.maxKeys };
    if (query.continuationToken !== undefined) params['continuation-token'] = query.continuationToken;
    const result = await this.raw.listV2(params);
    const raw = result.objects ?? [];
    if (!Array.isArray(raw)) throw new OssProtocolError('ListObjectsV2 answered a malformed Contents list');
    const objects = (raw as unknown[]).map((entry): OssListedObject => {
      const o = entry as { name?: unknown; size?: unknown; lastModified?: unknown };
      const lastModified = new Date(typeof o.lastModified === 'string' ? o.lastModified : '');
      if (typeof o.name !== 'string' || typeof o.size !== 'number' || !Number.isFinite(o.size) || Number.isNaN(lastModified.getTime())) {
        throw new OssProtocolError('ListObjectsV2 answered a malformed Contents entry');
      }
      return { key: o.name, size: o.size, lastModified };
    });
    return { objects, isTruncated: result.isTruncated === true, nextContinuationToken: result.nextContinuationToken ?? null };
  }

  async getBucketInfo(): Promise<{ readonly name?: string; readonly location?: string }> {
    const { bucket } = await this.raw.getBucketInfo(this.bucket);
    const info = (typeof bucket === 'object' && bucket !== null ? bucket : {}) as { Name?: unknown; Location?: unknown };
    return {
      name: typeof info.Name === 'string' ? info.Name : undefined,
      location: typeof info.Location === 'string' ? info.Location : undefined,
    };
  }

  /** The bucket's lifecycle rules; [] when the bucket has none (OSS answers 404 NoSuchLifecycle). */
  async getBucketLifecycle(): Promise<OssLifecycleRule[]> {
    try {
      const { rules } = await this.raw.getBucketLifecycle(this.bucket);
      return rules ?? [];
    } catch (err) {
      const info = ossErrorInfo(err);
      if (info.status === 404 && info.code === 'NoSuchLifecycle') return [];
      throw err;
    }
  }

  /** Replaces the bucket's lifecycle configuration (ali-oss mutates the rules: pass copies). */
  async putBucketLifecycle(rules: readonly OssLifecycleRule[]): Promise<void> {
    await this.raw.putBucketLifecycle(this.bucket, structuredClone([...rules]));
  }
}
