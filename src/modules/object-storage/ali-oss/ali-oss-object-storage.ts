import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertValidObjectKeyPrefix } from '../object-key-prefix';
import {
  assertValidObjectKey,
  type LifecycleRule,
  type ObjectInfo,
  ObjectNotFoundError,
  ObjectStorage,
  ObjectStorageUnavailableError,
  type PutObjectOptions,
} from '../object-storage.port';
import { isNoSuchKey, OssClient, type OssLifecycleRule, ossErrorInfo } from './ali-oss-client';
import { backoffDelay, isRetryable } from './oss-retry';

/** Mainland China OSS regions (REFERENCE.md). cn-hongkong is not mainland. */
export const MAINLAND_OSS_REGIONS = [
  'cn-hangzhou',
  'cn-shanghai',
  'cn-qingdao',
  'cn-beijing',
  'cn-zhangjiakou',
  'cn-huhehaote',
  'cn-wulanchabu',
  'cn-shenzhen',
  'cn-heyuan',
  'cn-guangzhou',
  'cn-chengdu',
] as const;

export type MainlandOssRegion = (typeof MAINLAND_OSS_REGIONS)[number];

/**
 * Checks the configured region against the mainland allow-list and answers it in standard form
 * (`cn-hangzhou`; the client's `oss-cn-hangzhou` form is accepted too). The region is always
 * configured explicitly: a custom-domain endpoint does not reveal it.
 */
export function assertMainlandRegion(region: string): MainlandOssRegion {
  const standard = (region ?? '').trim().replace(/^oss-/, '');
  const match = MAINLAND_OSS_REGIONS.find((r) => r === standard);
  if (match === undefined) {
    throw new Error(
      `OSS_REGION "${region}" is not an allowed mainland China region; facial data must stay in the mainland. ` +
        `Allowed: ${MAINLAND_OSS_REGIONS.join(', ')}.`,
    );
  }
  return match;
}

export type OssServerSideEncryption = 'AES256' | 'KMS' | 'SM4';
const SSE_ALGORITHMS: readonly OssServerSideEncryption[] = ['AES256', 'KMS', 'SM4'];

export interface AliOssObjectStorageOptions {
  /** OSS_REGION: a mainland region, `cn-hangzhou` (or `oss-cn-hangzhou`). */
  readonly region: string;
  /** OSS_BUCKET */
  readonly bucket: string;
  /** OSS_ACCESS_KEY_ID */
  readonly accessKeyId: string;
  /** OSS_ACCESS_KEY_SECRET */
  readonly accessKeySecret: string;
  /** OSS_ENDPOINT: default `oss-<region>.aliyuncs.com` (https). A plain-http endpoint needs `secure: false`. */
  readonly endpoint?: string;
  /** OSS_SECURE: https (default true). */
  readonly secure?: boolean;
  /** OSS_AUTHORIZATION_V4: V4 signatures (default true). */
  readonly authorizationV4?: boolean;
  /** OSS_SSE: server-side encryption header sent on every put (default AES256). */
  readonly serverSideEncryption?: OssServerSideEncryption;
  /** OSS_KMS_KEY_ID: the KMS key, with serverSideEncryption KMS only. */
  readonly kmsKeyId?: string;
  /** OSS_TIMEOUT_MS: connect and response timeout per attempt (default 60 000). */
  readonly timeoutMs?: number;
  /** OSS_MAX_RETRIES: retries after the first attempt on 5xx, timeouts and network errors (default 3). */
  readonly maxRetries?: number;
  /** First retry delay; doubles per retry, with jitter (default 200 ms). */
  readonly retryBaseDelayMs?: number;
  /** Cap on a retry delay (default 3 000 ms). */
  readonly retryMaxDelayMs?: number;
  /** OSS_INTERNAL: the VPC-internal endpoint of the region (servers running on Alibaba Cloud). */
  readonly internal?: boolean;
  /** OSS_CNAME: `endpoint` is a custom domain bound to the bucket. */
  readonly cname?: boolean;
  /** Path-style requests (`endpoint/bucket/key`), e.g. for a local test server. */
  readonly pathStyle?: boolean;
  /** OSS_MAX_SOCKETS: concurrent connections to OSS (default 64); more requests queue. */
  readonly maxSockets?: number;
  /**
   * Idle keep-alive sockets are closed after this (default 15 000 ms), well before OSS closes idle
   * connections itself, so a request never lands on a socket OSS is closing ("socket hang up").
   */
  readonly freeSocketTimeoutMs?: number;
  /** Keys per ListObjectsV2 page, 1–1000 (default 1000). */
  readonly listPageSize?: number;
}

/** OSS failed or could not be reached: what happened, for logs (never the object bytes). */
export class OssUnavailableError extends ObjectStorageUnavailableError {
  constructor(
    message: string,
    readonly operation: string,
    readonly attempts: number,
    readonly status: number | undefined,
    readonly ossCode: string | undefined,
    readonly requestId: string | undefined,
    cause: unknown,
  ) {
    super(message, cause);
    this.name = 'OssUnavailableError';
  }
}

const DELETE_BATCH = 1000;
const LIFECYCLE_ID = /^[A-Za-z0-9._-]{1,255}$/;

function positiveInteger(value: number | undefined, fallback: number, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer between ${min} and ${max}`);
  return value;
}

function escapeXmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** ali-oss writes lifecycle XML without escaping: escape the text of rules read back before re-putting them. */
function escapeRuleStrings<T>(value: T): T {
  if (typeof value === 'string') return escapeXmlText(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => escapeRuleStrings(v)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeRuleStrings(v)])) as T;
  }
  return value;
}

function toOssRule(rule: LifecycleRule): OssLifecycleRule {
  return { id: rule.id, prefix: rule.prefix, status: 'Enabled', expiration: { days: rule.days } };
}

function sameRule(existing: OssLifecycleRule, wanted: LifecycleRule): boolean {
  const fields = Object.keys(existing).filter((k) => existing[k] !== undefined);
  const expiration = existing.expiration;
  return (
    fields.every((k) => ['id', 'prefix', 'status', 'expiration'].includes(k)) &&
    existing.prefix === wanted.prefix &&
    existing.status === 'Enabled' &&
    expiration !== undefined &&
    Object.keys(expiration).every((k) => k === 'days') &&
    Number(expiration.days) === wanted.days
  );
}

/**
 * ObjectStorage on Alibaba Cloud OSS through the real `ali-oss` client.
 *
 * - Mainland regions only (checked at construction); https unless explicitly disabled; V4
 *   signatures by default; a server-side-encryption header on every put.
 * - Every call is retried on HTTP 5xx / 429, timeouts and network errors, with exponential backoff
 *   and jitter, at most `maxRetries` times; then ObjectStorageUnavailableError (OssUnavailableError).
 *   Other failures (403 credentials, 404 bucket …) fail at once, with a message saying what to fix.
 * - 404 NoSuchKey: ObjectNotFoundError from get, null from head, success from delete.
 * - `deleteMany` batches 1000 keys per DeleteMultipleObjects and checks every key was reported
 *   deleted, deleting stragglers one by one; `list` pages lazily through ListObjectsV2.
 * - A dedicated keep-alive agent (bounded sockets, idle sockets closed before OSS closes them).
 *   Call `close()` on shutdown.
 */
export class AliOssObjectStorage extends ObjectStorage {
  readonly kind = 'ali-oss';
  readonly region: MainlandOssRegion;
  readonly bucket: string;

  private readonly client: OssClient;
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  private readonly sseHeaders: Readonly<Record<string, string>>;
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly listPageSize: number;

  constructor(options: AliOssObjectStorageOptions) {
    super();
    this.region = assertMainlandRegion(options.region);
    if (!options.bucket || !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(options.bucket)) {
      throw new Error('OSS_BUCKET must be a valid bucket name (3–63 lower-case letters, digits and hyphens)');
    }
    if (!options.accessKeyId?.trim()) throw new Error('OSS_ACCESS_KEY_ID is required');
    if (!options.accessKeySecret?.trim()) throw new Error('OSS_ACCESS_KEY_SECRET is required');
    const secure = options.secure ?? true;
    if (options.endpoint !== undefined && /^http:\/\//i.test(options.endpoint) && secure) {
      throw new Error('OSS_ENDPOINT is plain http while OSS_SECURE is on: use an https endpoint (or set secure: false for a local test server)');
    }
    const sse = options.serverSideEncryption ?? 'AES256';
    if (!SSE_ALGORITHMS.includes(sse)) throw new Error(`OSS_SSE must be one of ${SSE_ALGORITHMS.join(', ')}`);
    if (options.kmsKeyId !== undefined && options.kmsKeyId !== '' && sse !== 'KMS') {
      throw new Error('OSS_KMS_KEY_ID is only used with OSS_SSE=KMS');
    }
    const timeout = positiveInteger(options.timeoutMs, 60_000, 'OSS_TIMEOUT_MS');
    this.maxRetries = positiveInteger(options.maxRetries, 3, 'OSS_MAX_RETRIES', 0, 10);
    this.baseDelayMs = positiveInteger(options.retryBaseDelayMs, 200, 'retryBaseDelayMs', 0);
    this.maxDelayMs = positiveInteger(options.retryMaxDelayMs, 3_000, 'retryMaxDelayMs', 0);
    this.listPageSize = positiveInteger(options.listPageSize, 1000, 'listPageSize', 1, 1000);
    const maxSockets = positiveInteger(options.maxSockets, 64, 'OSS_MAX_SOCKETS');
    const freeSocketTimeout = positiveInteger(options.freeSocketTimeoutMs, 15_000, 'freeSocketTimeoutMs');

    this.bucket = options.bucket;
    this.sseHeaders = {
      'x-oss-server-side-encryption': sse,
      ...(sse === 'KMS' && options.kmsKeyId ? { 'x-oss-server-side-encryption-key-id': options.kmsKeyId } : {}),
    };
    const agentOptions = {
      keepAlive: true,
      keepAliveMsecs: 1_000,
      maxSockets,
      maxFreeSockets: Math.min(maxSockets, 32),
      timeout: freeSocketTimeout,
      scheduling: 'lifo' as const,
    };
    this.httpAgent = new HttpAgent(agentOptions);
    this.httpsAgent = new HttpsAgent(agentOptions);
    this.client = new OssClient({
      region: `oss-${this.region}`,
      bucket: options.bucket,
      accessKeyId: options.accessKeyId.trim(),
      accessKeySecret: options.accessKeySecret.trim(),
      endpoint: options.endpoint,
      secure,
      internal: options.internal ?? false,
      cname: options.cname ?? false,
      sldEnable: options.pathStyle ?? false,
      authorizationV4: options.authorizationV4 ?? true,
      timeout,
      retryMax: 0, // retries are done here, for 5xx and response timeouts too
      agent: this.httpAgent,
      httpsAgent: this.httpsAgent,
    });
  }

  async put(key: string, body: Buffer, options?: PutObjectOptions): Promise<void> {
    assertValidObjectKey(key);
    if (!Buffer.isBuffer(body)) throw new TypeError('ObjectStorage.put takes a Buffer');
    const headers = { ...this.sseHeaders, 'Content-Type': options?.contentType ?? 'application/octet-stream' };
    await this.call('put', () => this.client.put(key, body, headers));
  }

  async get(key: string): Promise<Buffer> {
    assertValidObjectKey(key);
    try {
      return await this.call('get', () => this.client.get(key));
    } catch (err) {
      if (isNoSuchKey(err)) throw new ObjectNotFoundError(key);
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidObjectKey(key);
    try {
      const head = await this.call('head', () => this.client.head(key));
      return { key, size: head.size, lastModified: head.lastModified };
    } catch (err) {
      if (isNoSuchKey(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidObjectKey(key);
    try {
      await this.call('delete', () => this.client.delete(key));
    } catch (err) {
      if (isNoSuchKey(err)) return;
      throw err;
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertValidObjectKey(key);
    const unique = [...new Set(keys)];
    for (let start = 0; start < unique.length; start += DELETE_BATCH) {
      const batch = unique.slice(start, start + DELETE_BATCH);
      const deleted = await this.call('deleteMany', () => this.client.deleteMulti(batch));
      for (const key of batch) {
        if (!deleted.has(key)) await this.delete(key); // not reported deleted: try alone, fail loudly
      }
    }
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.pages(prefix);
  }

  async ensureLifecycleRules(rules: readonly LifecycleRule[]): Promise<boolean> {
    const ids = new Set<string>();
    for (const rule of rules) {
      if (!LIFECYCLE_ID.test(rule.id)) throw new Error(`Lifecycle rule id "${rule.id}" must be 1–255 of [A-Za-z0-9._-]`);
      if (ids.has(rule.id)) throw new Error(`Lifecycle rule id "${rule.id}" appears twice`);
      ids.add(rule.id);
      if (rule.prefix === '') throw new Error(`Lifecycle rule "${rule.id}" has an empty prefix: it would expire the whole bucket`);
      assertValidObjectKeyPrefix(rule.prefix);
      if (!Number.isInteger(rule.days) || rule.days < 1) throw new Error(`Lifecycle rule "${rule.id}" must expire after a whole number of days >= 1`);
    }
    if (rules.length === 0) return true;

    const existing = await this.call('getBucketLifecycle', () => this.client.getBucketLifecycle());
    const wanted = new Map(rules.map((r) => [r.id, r]));
    let changed = false;
    const merged: OssLifecycleRule[] = existing.map((rule) => {
      const replacement = rule.id === undefined ? undefined : wanted.get(rule.id);
      if (replacement === undefined) return escapeRuleStrings(rule);
      wanted.delete(replacement.id);
      if (!sameRule(rule, replacement)) changed = true;
      return toOssRule(replacement);
    });
    for (const rule of wanted.values()) {
      merged.push(toOssRule(rule));
      changed = true;
    }
    if (changed) await this.call('putBucketLifecycle', () => this.client.putBucketLifecycle(merged));
    return true;
  }

  async checkHealth(): Promise<void> {
    await this.call('checkHealth', () => this.client.listV2({ prefix: '', maxKeys: 1 }));
  }

  /** Releases the keep-alive sockets. */
  async close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** NestJS shutdown hook (called on providers when the application closes). */
  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  private async *pages(prefix: string): AsyncGenerator<ObjectInfo> {
    assertValidObjectKeyPrefix(prefix);
    let continuationToken: string | undefined;
    do {
      const token = continuationToken;
      const page = await this.call('list', () =>
        this.client.listV2({ prefix, maxKeys: this.listPageSize, ...(token === undefined ? {} : { continuationToken: token }) }),
      );
      for (const object of page.objects) yield { key: object.key, size: object.size, lastModified: object.lastModified };
      if (page.isTruncated && !page.nextContinuationToken) {
        throw new OssUnavailableError('OSS list answered a truncated page without a continuation token', 'list', 1, undefined, undefined, undefined, undefined);
      }
      continuationToken = page.isTruncated ? (page.nextContinuationToken ?? undefined) : undefined;
    } while (continuationToken !== undefined);
  }

  /**
   * Runs one OSS call with bounded retries. Rethrows 404 NoSuchKey as is (each caller gives it
   * its meaning); everything else ends as an OssUnavailableError.
   */
  private async call<T>(operation: string, attempt: () => Promise<T>): Promise<T> {
    for (let attempts = 1; ; attempts++) {
      try {
        return await attempt();
      } catch (err) {
        if (isNoSuchKey(err)) throw err;
        const info = ossErrorInfo(err);
        if (attempts > this.maxRetries || !isRetryable(info)) throw this.unavailable(operation, attempts, err);
        await sleep(backoffDelay(attempts, { baseDelayMs: this.baseDelayMs, maxDelayMs: this.maxDelayMs }));
      }
    }
  }

  private unavailable(operation: string, attempts: number, err: unknown): OssUnavailableError {
    const info = ossErrorInfo(err);
    const what = [info.code ?? info.name ?? 'error', info.status !== undefined && info.status > 0 ? `HTTP ${info.status}` : undefined]
      .filter(Boolean)
      .join(', ');
    let message: string;
    if (info.status === 403 && (info.code === 'SignatureDoesNotMatch' || info.code === 'InvalidAccessKeyId')) {
      message = `OSS refused the credentials (${what}): check OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET`;
    } else if (info.status === 403 && info.code === 'RequestTimeTooSkewed') {
      message = `OSS refused the request time (${what}): the server clock is off`;
    } else if (info.status === 403) {
      message = `OSS denied ${operation} (${what}): check the access key's RAM policy on bucket ${this.bucket}`;
    } else if (info.status === 404 && info.code === 'NoSuchBucket') {
      message = `OSS bucket ${this.bucket} does not exist (${what}): check OSS_BUCKET, OSS_REGION and OSS_ENDPOINT`;
    } else {
      message = `OSS ${operation} failed after ${attempts} attempt${attempts === 1 ? '' : 's'} (${what})`;
    }
    // The cause keeps what identifies the failure, not the client's request params (they hold the body).
    const cause = new Error(info.message.split('\n')[0]);
    cause.name = info.name ?? 'Error';
    Object.assign(cause, { status: info.status, code: info.code, requestId: info.requestId });
    return new OssUnavailableError(message, operation, attempts, info.status, info.code, info.requestId, cause);
  }
}
