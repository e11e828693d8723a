import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { el, elements, errorXml, text, XML_DECLARATION } from './oss-xml';
import { parseQuery, type QueryParam, type SignatureCheck, verifySignature } from './oss-signature';

/**
 * A local HTTP server speaking enough Alibaba Cloud OSS for the real `ali-oss` client, path-style
 * (`endpoint: server.endpoint, sldEnable: true`): PutObject, GetObject, HeadObject, DeleteObject,
 * DeleteMultipleObjects, ListObjectsV2, GetBucketInfo, Get/Put/DeleteBucketLifecycle.
 *
 * Every request's signature (V1 or V4) is verified; a wrong signature answers 403
 * SignatureDoesNotMatch, an unknown AccessKeyId 403 InvalidAccessKeyId (as real OSS does), as OSS
 * XML errors (base64 in `x-oss-err` for HEAD). Objects live in memory with the request headers they
 * were put with. Faults can be injected (`failNext`), and the server can be stopped and started
 * again on the same port, keeping its objects.
 */

export interface OssTestServerOptions {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly bucket: string;
  /** Standard region, e.g. cn-hangzhou ('oss-' prefix accepted). */
  readonly region: string;
  /** Further valid credentials. */
  readonly extraCredentials?: ReadonlyArray<{ readonly accessKeyId: string; readonly accessKeySecret: string }>;
  readonly port?: number;
  readonly host?: string;
  /** Requests whose date is further than this from the server's clock are refused (default 15 min). */
  readonly maxClockSkewMs?: number;
}

export interface StoredObject {
  readonly key: string;
  readonly body: Buffer;
  /** The PutObject request headers, lower-case, without `authorization`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType: string;
  readonly etag: string;
  readonly lastModified: Date;
}

export type OssOperation =
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'DeleteMultipleObjects'
  | 'ListObjectsV2'
  | 'GetBucketInfo'
  | 'GetBucketLifecycle'
  | 'PutBucketLifecycle'
  | 'DeleteBucketLifecycle'
  | 'Unsupported';

export interface RecordedRequest {
  readonly operation: OssOperation;
  readonly method: string;
  readonly bucket: string;
  readonly key: string;
  readonly query: readonly QueryParam[];
  readonly headers: Readonly<Record<string, string>>;
  signatureVersion: 'v1' | 'v4' | null;
  /** The status answered; 0 when the connection was reset or left hanging by an injected fault. */
  status: number;
  /** DeleteMultipleObjects: how many keys the request carried. */
  keyCount?: number;
}

export interface StoredLifecycleRule {
  readonly id: string;
  readonly prefix: string;
  readonly status: string;
  readonly expirationDays?: number;
}

export type FaultTarget = 'put' | 'get' | 'delete' | 'list' | 'any';
/**
 * An HTTP status to answer with, 'reset' to destroy the connection, 'hang' to never answer, or
 * `{ delayMs }` to answer normally but late.
 */
export type FaultKind = number | 'reset' | 'hang' | { readonly delayMs: number };

interface Fault {
  readonly target: FaultTarget;
  remaining: number;
  readonly kind: FaultKind;
}

const FAULT_TARGETS: Readonly<Record<OssOperation, FaultTarget | null>> = {
  PutObject: 'put',
  GetObject: 'get',
  HeadObject: 'get',
  DeleteObject: 'delete',
  DeleteMultipleObjects: 'delete',
  ListObjectsV2: 'list',
  GetBucketInfo: null,
  GetBucketLifecycle: null,
  PutBucketLifecycle: null,
  DeleteBucketLifecycle: null,
  Unsupported: null,
};

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_RECORDED_REQUESTS = 10_000;
const SSE_ALGORITHMS = new Set(['AES256', 'KMS', 'SM4']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'authorization') continue;
    out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

function md5(body: Buffer): Buffer {
  return createHash('md5').update(body).digest();
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export class OssTestServer {
  /** The objects, by key. Tests may read and seed it directly. */
  readonly objects = new Map<string, StoredObject>();
  /** Every request received, oldest first (bounded). */
  readonly requests: RecordedRequest[] = [];
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;

  private readonly credentials = new Map<string, string>();
  private readonly host: string;
  private readonly maxClockSkewMs: number;
  private readonly server: Server;
  private readonly faults: Fault[] = [];
  private readonly deniedDeletePrefixes: string[] = [];
  private lifecycleXml: string | null = null;
  private lifecycle: StoredLifecycleRule[] = [];
  private boundPort = 0;
  private listening = false;
  private readonly createdAt = new Date();
  private connectionsAccepted = 0;

  private constructor(options: OssTestServerOptions) {
    this.bucket = options.bucket;
    this.region = options.region.replace(/^oss-/, '');
    this.accessKeyId = options.accessKeyId;
    this.accessKeySecret = options.accessKeySecret;
    this.credentials.set(options.accessKeyId, options.accessKeySecret);
    for (const extra of options.extraCredentials ?? []) this.credentials.set(extra.accessKeyId, extra.accessKeySecret);
    this.host = options.host ?? '127.0.0.1';
    this.boundPort = options.port ?? 0;
    this.maxClockSkewMs = options.maxClockSkewMs ?? 15 * 60 * 1000;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end(errorXml('InternalError', err instanceof Error ? err.message : String(err), this.requestId(), this.hostId()));
        } else {
          res.destroy();
        }
      });
    });
    this.server.on('connection', () => {
      this.connectionsAccepted += 1;
    });
  }

  /** Starts a server on a free port (or `options.port`). */
  static async start(options: OssTestServerOptions): Promise<OssTestServer> {
    const server = new OssTestServer(options);
    await server.listen();
    return server;
  }

  /** Starts listening again, on the same port, after `stop()`. Objects are kept. */
  async start(): Promise<void> {
    if (this.listening) return;
    await this.listen();
  }

  get port(): number {
    return this.boundPort;
  }

  /** `http://127.0.0.1:PORT`, for `endpoint` with `sldEnable: true` (path-style). */
  get endpoint(): string {
    return `http://${this.host}:${this.boundPort}`;
  }

  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  get connectionCount(): number {
    return this.connectionsAccepted;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** The lifecycle rules as last put (parsed), [] when none. */
  lifecycleRules(): StoredLifecycleRule[] {
    return [...this.lifecycle];
  }

  /** Injects `count` failures into the next matching requests (after they are recorded, before auth). */
  failNext(target: FaultTarget, count: number, kind: FaultKind = 503): void {
    if (!Number.isInteger(count) || count < 1) throw new Error('failNext: count must be a positive integer');
    this.faults.push({ target, remaining: count, kind });
  }

  /** Clears pending injected faults. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Objects under `prefix` cannot be deleted: DeleteObject answers 403, DeleteMultipleObjects skips them. */
  denyDelete(prefix: string): void {
    this.deniedDeletePrefixes.push(prefix);
  }

  /** Recorded requests of one operation. */
  requestsOf(operation: OssOperation): RecordedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  /** Stops listening and drops every open connection; objects stay. */
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve, reject) => {
      this.server.close((err) => (err ? reject(err) : resolve()));
      this.server.closeAllConnections();
    });
  }

  async close(): Promise<void> {
    await this.stop();
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.boundPort, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.listening = true;
  }

  private requestId(): string {
    return randomBytes(12).toString('hex').toUpperCase();
  }

  private hostId(): string {
    return `${this.bucket}.oss-${this.region}.aliyuncs.com`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const questionMark = url.indexOf('?');
    const rawPath = questionMark < 0 ? url : url.slice(0, questionMark);
    const rawQuery = questionMark < 0 ? '' : url.slice(questionMark + 1);
    const requestId = this.requestId();
    res.setHeader('x-oss-request-id', requestId);
    res.setHeader('Server', 'AliyunOSS');
    res.setHeader('Date', new Date().toUTCString());

    let bucket = '';
    let key = '';
    let query: QueryParam[] = [];
    try {
      const slash = rawPath.indexOf('/', 1);
      bucket = decodeURIComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
      key = slash < 0 ? '' : decodeURIComponent(rawPath.slice(slash + 1));
      query = parseQuery(rawQuery);
    } catch {
      return this.sendError(res, method, requestId, new HttpError(400, 'InvalidURI', 'Could not parse the request URI.'));
    }

    const body = await this.readBody(req).catch((err: unknown) => err as HttpError);
    const operation = this.operationOf(method, key, query);
    const record: RecordedRequest = {
      operation,
      method,
      bucket,
      key,
      query,
      headers: flatHeaders(req.headers),
      signatureVersion: null,
      status: 0,
    };
    this.requests.push(record);
    if (this.requests.length > MAX_RECORDED_REQUESTS) this.requests.shift();
    res.on('finish', () => {
      record.status = res.statusCode;
    });

    const fault = this.takeFault(operation);
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === 'hang') return; // the client times out; stop() drops the connection
    if (typeof fault === 'object' && fault !== null) {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (!this.listening || res.destroyed) return;
    } else if (typeof fault === 'number') {
      const code = fault === 503 ? 'ServiceUnavailable' : fault >= 500 ? 'InternalError' : 'InjectedFault';
      return this.sendError(res, method, requestId, new HttpError(fault, code, `Injected fault (${fault}).`));
    }
    if (body instanceof HttpError) return this.sendError(res, method, requestId, body);

    const check: SignatureCheck = verifySignature(
      { method, bucket, key, query, headers: req.headers },
      {
        secretFor: (id) => this.credentials.get(id),
        region: this.region,
        now: new Date(),
        maxClockSkewMs: this.maxClockSkewMs,
      },
    );
    if (!check.ok) {
      return this.sendError(res, method, requestId, new HttpError(check.status, check.code, check.message, check.details));
    }
    record.signatureVersion = check.version;

    try {
      this.checkPayload(req.headers, body, check.version);
      if (bucket !== this.bucket) throw new HttpError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket });
      await this.dispatch(operation, { method, key, query, headers: req.headers, body, res, record });
    } catch (err) {
      if (err instanceof HttpError) return this.sendError(res, method, requestId, err);
      throw err;
    }
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) tooLarge = true;
        else chunks.push(chunk);
      });
      req.on('end', () =>
        tooLarge
          ? reject(new HttpError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.'))
          : resolve(Buffer.concat(chunks)),
      );
      req.on('error', reject);
    });
  }

  private operationOf(method: string, key: string, query: readonly QueryParam[]): OssOperation {
    const has = (name: string) => query.some((p) => p.name === name);
    if (key === '') {
      if (has('lifecycle')) {
        if (method === 'GET') return 'GetBucketLifecycle';
        if (method === 'PUT') return 'PutBucketLifecycle';
        if (method === 'DELETE') return 'DeleteBucketLifecycle';
        return 'Unsupported';
      }
      if (method === 'GET' && has('bucketInfo')) return 'GetBucketInfo';
      if (method === 'POST' && has('delete')) return 'DeleteMultipleObjects';
      if (method === 'GET' && query.some((p) => p.name === 'list-type' && p.value === '2')) return 'ListObjectsV2';
      return 'Unsupported';
    }
    const subResources = query.filter((p) => !p.name.startsWith('response-'));
    if (subResources.length > 0) return 'Unsupported';
    switch (method) {
      case 'PUT':
        return 'PutObject';
      case 'GET':
        return 'GetObject';
      case 'HEAD':
        return 'HeadObject';
      case 'DELETE':
        return 'DeleteObject';
      default:
        return 'Unsupported';
    }
  }

  private takeFault(operation: OssOperation): FaultKind | null {
    const target = FAULT_TARGETS[operation];
    const index = this.faults.findIndex((f) => f.target === 'any' || f.target === target);
    if (index < 0) return null;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault.kind;
  }

  private checkPayload(headers: IncomingHttpHeaders, body: Buffer, version: 'v1' | 'v4'): void {
    const contentMd5 = headers['content-md5'];
    if (contentMd5 !== undefined && contentMd5 !== md5(body).toString('base64')) {
      throw new HttpError(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
    }
    const sha256 = headers['x-oss-content-sha256'];
    if (version === 'v4' && typeof sha256 === 'string' && sha256 !== 'UNSIGNED-PAYLOAD') {
      if (sha256 !== createHash('sha256').update(body).digest('hex')) {
        throw new HttpError(400, 'InvalidDigest', 'The x-oss-content-sha256 you specified does not match the body.');
      }
    }
  }

  private async dispatch(operation: OssOperation, ctx: RequestContext): Promise<void> {
    switch (operation) {
      case 'PutObject':
        return this.putObject(ctx);
      case 'GetObject':
        return this.getObject(ctx, false);
      case 'HeadObject':
        return this.getObject(ctx, true);
      case 'DeleteObject':
        return this.deleteObject(ctx);
      case 'DeleteMultipleObjects':
        return this.deleteMultipleObjects(ctx);
      case 'ListObjectsV2':
        return this.listObjectsV2(ctx);
      case 'GetBucketInfo':
        return this.getBucketInfo(ctx);
      case 'GetBucketLifecycle':
        return this.getBucketLifecycle(ctx);
      case 'PutBucketLifecycle':
        return this.putBucketLifecycle(ctx);
      case 'DeleteBucketLifecycle':
        this.lifecycleXml = null;
        this.lifecycle = [];
        return this.send(ctx.res, 204);
      case 'Unsupported':
        throw new HttpError(501, 'NotImplemented', 'This operation is not supported by the OSS test server.');
    }
  }

  private putObject({ key, headers, body, res }: RequestContext): void {
    if (headers['x-oss-copy-source']) throw new HttpError(501, 'NotImplemented', 'CopyObject is not supported.');
    const sse = headers['x-oss-server-side-encryption'];
    if (sse !== undefined && !SSE_ALGORITHMS.has(String(sse))) {
      throw new HttpError(400, 'InvalidEncryptionAlgorithmError', 'The encryption request you specified is not valid.');
    }
    if (headers['x-oss-server-side-encryption-key-id'] !== undefined && sse !== 'KMS') {
      throw new HttpError(400, 'InvalidArgument', 'x-oss-server-side-encryption-key-id requires KMS encryption.');
    }
    const etag = `"${md5(body).toString('hex').toUpperCase()}"`;
    const stored: StoredObject = {
      key,
      body,
      headers: flatHeaders(headers),
      contentType: String(headers['content-type'] ?? 'application/octet-stream'),
      etag,
      lastModified: new Date(),
    };
    this.objects.set(key, stored);
    const responseHeaders: Record<string, string> = { ETag: etag };
    if (sse !== undefined) responseHeaders['x-oss-server-side-encryption'] = String(sse);
    this.send(res, 200, responseHeaders);
  }

  private getObject({ key, res }: RequestContext, headOnly: boolean): void {
    const object = this.objects.get(key);
    if (!object) throw new HttpError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    const headers: Record<string, string> = {
      'Content-Type': object.contentType,
      'Content-Length': String(object.body.length),
      ETag: object.etag,
      'Last-Modified': object.lastModified.toUTCString(),
      'x-oss-object-type': 'Normal',
      'x-oss-storage-class': 'Standard',
      'Accept-Ranges': 'bytes',
    };
    const sse = object.headers['x-oss-server-side-encryption'];
    if (sse !== undefined) headers['x-oss-server-side-encryption'] = sse;
    res.writeHead(200, headers);
    res.end(headOnly ? undefined : object.body);
  }

  private isDeleteDenied(key: string): boolean {
    return this.deniedDeletePrefixes.some((prefix) => key.startsWith(prefix));
  }

  private deleteObject({ key, res }: RequestContext): void {
    if (this.isDeleteDenied(key)) throw new HttpError(403, 'AccessDenied', 'You have no right to delete this object.');
    this.objects.delete(key);
    this.send(res, 204);
  }

  private deleteMultipleObjects({ headers, body, res, record }: RequestContext): void {
    if (headers['content-md5'] === undefined) {
      throw new HttpError(400, 'InvalidDigest', 'Content-MD5 is required for DeleteMultipleObjects.');
    }
    const xml = body.toString('utf8');
    const root = elements(xml, 'Delete')[0];
    if (root === undefined) throw new HttpError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
    const keys = elements(root, 'Object').map((object) => text(object, 'Key'));
    record.keyCount = keys.length;
    if (keys.length === 0 || keys.length > 1000 || keys.some((k) => k === undefined || k === '')) {
      throw new HttpError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate (1 to 1000 keys).');
    }
    const quiet = text(root, 'Quiet') === 'true';
    const deleted: string[] = [];
    for (const key of keys as string[]) {
      if (this.isDeleteDenied(key)) continue;
      this.objects.delete(key);
      deleted.push(key);
    }
    const entries = quiet ? '' : deleted.map((key) => `<Deleted>${el('Key', key)}</Deleted>`).join('');
    this.sendXml(res, 200, `<DeleteResult>${entries}</DeleteResult>`);
  }

  private listObjectsV2({ query, res }: RequestContext): void {
    const param = (name: string) => query.find((p) => p.name === name)?.value ?? undefined;
    const prefix = param('prefix') ?? '';
    const delimiter = param('delimiter') ?? '';
    const maxKeysRaw = param('max-keys');
    const maxKeys = maxKeysRaw === undefined ? 100 : Number(maxKeysRaw);
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1000) {
      throw new HttpError(400, 'InvalidArgument', 'max-keys must be an integer between 1 and 1000.');
    }
    const token = param('continuation-token');
    let after = param('start-after') ?? '';
    if (token !== undefined) {
      after = Buffer.from(token, 'base64url').toString('utf8');
      if (after === '') throw new HttpError(400, 'InvalidArgument', 'The continuation token is invalid.');
    }
    const keys = [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix) && byteOrder(k, after) > 0)
      .sort(byteOrder);

    const contents: StoredObject[] = [];
    const commonPrefixes: string[] = [];
    let lastProcessed = '';
    let truncated = false;
    for (const key of keys) {
      const common = delimiter ? commonPrefixOf(key, prefix, delimiter) : null;
      if (common !== null && commonPrefixes[commonPrefixes.length - 1] === common) {
        lastProcessed = key;
        continue;
      }
      if (contents.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (common !== null) commonPrefixes.push(common);
      else contents.push(this.objects.get(key)!);
      lastProcessed = key;
    }
    const xml =
      `<ListBucketResult>${el('Name', this.bucket)}${el('Prefix', prefix)}${el('MaxKeys', maxKeys)}` +
      `${el('Delimiter', delimiter || undefined)}${el('StartAfter', param('start-after'))}` +
      `${el('ContinuationToken', token)}${el('IsTruncated', truncated)}${el('KeyCount', contents.length + commonPrefixes.length)}` +
      `${truncated ? el('NextContinuationToken', Buffer.from(lastProcessed, 'utf8').toString('base64url')) : ''}` +
      contents
        .map(
          (o) =>
            `<Contents>${el('Key', o.key)}${el('LastModified', o.lastModified.toISOString())}${el('ETag', o.etag)}` +
            `${el('Type', 'Normal')}${el('Size', o.body.length)}${el('StorageClass', 'Standard')}</Contents>`,
        )
        .join('') +
      commonPrefixes.map((p) => `<CommonPrefixes>${el('Prefix', p)}</CommonPrefixes>`).join('') +
      `</ListBucketResult>`;
    this.sendXml(res, 200, xml);
  }

  private getBucketInfo({ res }: RequestContext): void {
    const xml =
      `<BucketInfo><Bucket>${el('AccessMonitor', 'Disabled')}${el('CreationDate', this.createdAt.toISOString())}` +
      `${el('ExtranetEndpoint', `oss-${this.region}.aliyuncs.com`)}${el('IntranetEndpoint', `oss-${this.region}-internal.aliyuncs.com`)}` +
      `${el('Location', `oss-${this.region}`)}${el('StorageClass', 'Standard')}${el('Name', this.bucket)}` +
      `<Owner>${el('DisplayName', 'test')}${el('ID', 'test')}</Owner>` +
      `<AccessControlList>${el('Grant', 'private')}</AccessControlList>` +
      `<ServerSideEncryptionRule>${el('SSEAlgorithm', 'None')}</ServerSideEncryptionRule></Bucket></BucketInfo>`;
    this.sendXml(res, 200, xml);
  }

  private getBucketLifecycle({ res }: RequestContext): void {
    if (this.lifecycleXml === null) {
      throw new HttpError(404, 'NoSuchLifecycle', 'No Row found in Lifecycle Table.', { BucketName: this.bucket });
    }
    res.writeHead(200, { 'Content-Type': 'application/xml' });
    res.end(this.lifecycleXml);
  }

  private putBucketLifecycle({ body, res }: RequestContext): void {
    const xml = body.toString('utf8');
    const config = elements(xml, 'LifecycleConfiguration')[0];
    if (config === undefined) throw new HttpError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
    const rules: StoredLifecycleRule[] = [];
    const ids = new Set<string>();
    const ruleBodies = elements(config, 'Rule');
    if (ruleBodies.length === 0 || ruleBodies.length > 1000) {
      throw new HttpError(400, 'MalformedXML', 'A lifecycle configuration holds 1 to 1000 rules.');
    }
    for (const rule of ruleBodies) {
      const id = text(rule, 'ID') ?? randomBytes(8).toString('hex');
      const prefix = text(rule, 'Prefix');
      const status = text(rule, 'Status');
      if (prefix === undefined) throw new HttpError(400, 'MalformedXML', 'Rule must include Prefix.');
      if (status !== 'Enabled' && status !== 'Disabled') throw new HttpError(400, 'MalformedXML', 'Status must be Enabled or Disabled.');
      if (ids.has(id)) throw new HttpError(400, 'InvalidArgument', `Duplicate rule ID ${id}.`);
      ids.add(id);
      const actions = ['Expiration', 'Transition', 'AbortMultipartUpload', 'NoncurrentVersionExpiration', 'NoncurrentVersionTransition'];
      if (!actions.some((action) => elements(rule, action).length > 0)) {
        throw new HttpError(400, 'MalformedXML', 'Rule must include an action.');
      }
      const expiration = elements(rule, 'Expiration')[0];
      const daysText = expiration === undefined ? undefined : text(expiration, 'Days');
      let expirationDays: number | undefined;
      if (daysText !== undefined) {
        expirationDays = Number(daysText);
        if (!Number.isInteger(expirationDays) || expirationDays < 1) {
          throw new HttpError(400, 'InvalidArgument', 'Expiration Days must be a positive integer.');
        }
      }
      rules.push({ id, prefix, status, expirationDays });
    }
    this.lifecycleXml = xml;
    this.lifecycle = rules;
    this.send(res, 200);
  }

  private send(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Length': '0', ...headers });
    res.end();
  }

  private sendXml(res: ServerResponse, status: number, xml: string): void {
    const body = Buffer.from(`${XML_DECLARATION}${xml}`, 'utf8');
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': String(body.length) });
    res.end(body);
  }

  private sendError(res: ServerResponse, method: string, requestId: string, error: HttpError): void {
    const xml = errorXml(error.code, error.message, requestId, this.hostId(), error.details);
    if (method === 'HEAD') {
      res.writeHead(error.status, { 'x-oss-err': Buffer.from(xml, 'utf8').toString('base64'), 'Content-Length': '0' });
      res.end();
      return;
    }
    const body = Buffer.from(xml, 'utf8');
    res.writeHead(error.status, { 'Content-Type': 'application/xml', 'Content-Length': String(body.length) });
    res.end(body);
  }
}

interface RequestContext {
  readonly method: string;
  readonly key: string;
  readonly query: readonly QueryParam[];
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly res: ServerResponse;
  readonly record: RecordedRequest;
}

function commonPrefixOf(key: string, prefix: string, delimiter: string): string | null {
  const index = key.indexOf(delimiter, prefix.length);
  return index < 0 ? null : key.slice(0, index + delimiter.length);
}
