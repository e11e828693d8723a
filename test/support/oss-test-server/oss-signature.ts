import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Server-side verification of OSS request signatures, V1 (`OSS AK:sig`, HMAC-SHA1) and V4
 * (`OSS4-HMAC-SHA256`), recomputed independently from what arrived on the wire.
 *
 * Where REFERENCE.md is not explicit, this follows what `ali-oss` 6.23 does
 * (lib/common/signUtils.js), which is what real OSS accepts:
 * - V1 sub-resources are sorted with the default JS sort and joined with '&'; a sub-resource with
 *   an empty value is signed bare (`?delete`), one with a value as `key=value` (raw, not encoded).
 * - V4 query keys are sorted with `localeCompare` (qs `sort` option) and encoded like
 *   encodeURIComponent plus `!'()*`; canonical headers are sorted with the default sort.
 * - V4 hashed payload is the `x-oss-content-sha256` header value (the client sends UNSIGNED-PAYLOAD).
 * - The V4 region in the scope is the standard region (`cn-hangzhou`, without `oss-`).
 */

/** Query parameters OSS treats as sub-resources (signed in V1; signed bare when empty in V4). */
export const SUB_RESOURCES: ReadonlySet<string> = new Set([
  'acl', 'uploads', 'location', 'cors', 'logging', 'website', 'referer', 'lifecycle', 'delete', 'append',
  'tagging', 'objectMeta', 'uploadId', 'partNumber', 'security-token', 'position', 'img', 'style',
  'styleName', 'replication', 'replicationProgress', 'replicationLocation', 'cname', 'bucketInfo', 'comp',
  'qos', 'live', 'status', 'vod', 'startTime', 'endTime', 'symlink', 'x-oss-process', 'response-content-type',
  'x-oss-traffic-limit', 'response-content-language', 'response-expires', 'response-cache-control',
  'response-content-disposition', 'response-content-encoding', 'udf', 'udfName', 'udfImage', 'udfId',
  'udfImageDesc', 'udfApplication', 'udfApplicationLog', 'restore', 'callback', 'callback-var', 'qosInfo',
  'policy', 'stat', 'encryption', 'versions', 'versioning', 'versionId', 'requestPayment',
  'x-oss-request-payer', 'sequential', 'inventory', 'inventoryId', 'continuation-token', 'asyncFetch',
  'worm', 'wormId', 'wormExtend', 'withHashContext', 'x-oss-enable-md5', 'x-oss-enable-sha1',
  'x-oss-enable-sha256', 'x-oss-hash-ctx', 'x-oss-md5-ctx', 'transferAcceleration', 'regionList',
  'cloudboxes', 'metaQuery', 'resourceGroup', 'rtc', 'accessPoint', 'accessPointPolicy', 'objectInfo',
]);

export interface QueryParam {
  readonly name: string;
  /** null when the parameter came without '=' */
  readonly value: string | null;
}

/** Parses a raw query string keeping order, bare keys and empty values apart. */
export function parseQuery(rawQuery: string): QueryParam[] {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
      return eq < 0 ? { name: decode(part), value: null } : { name: decode(part.slice(0, eq)), value: decode(part.slice(eq + 1)) };
    });
}

export interface SignatureInput {
  readonly method: string;
  readonly bucket: string;
  /** The decoded object key, '' for bucket operations. */
  readonly key: string;
  readonly query: readonly QueryParam[];
  /** Node's lower-cased request headers. */
  readonly headers: IncomingHttpHeaders;
}

export interface SignatureCheckOptions {
  readonly secretFor: (accessKeyId: string) => string | undefined;
  /** Standard region name, e.g. cn-hangzhou. */
  readonly region: string;
  readonly now: Date;
  readonly maxClockSkewMs: number;
}

export type SignatureCheck =
  | { readonly ok: true; readonly version: 'v1' | 'v4'; readonly accessKeyId: string }
  | {
      readonly ok: false;
      readonly status: 400 | 403;
      readonly code: string;
      readonly message: string;
      readonly details?: Record<string, string>;
    };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function deny(code: string, message: string, details?: Record<string, string>): SignatureCheck {
  return { ok: false, status: 403, code, message, details };
}

export function verifySignature(input: SignatureInput, options: SignatureCheckOptions): SignatureCheck {
  const authorization = header(input.headers, 'authorization');
  if (!authorization) return deny('AccessDenied', 'You have no right to access this object because of bucket acl.');
  if (authorization.startsWith('OSS4-HMAC-SHA256 ')) return verifyV4(input, authorization, options);
  if (authorization.startsWith('OSS ')) return verifyV1(input, authorization, options);
  return deny('InvalidArgument', 'Authorization header is invalid.');
}

function checkSkew(date: Date, options: SignatureCheckOptions): SignatureCheck | null {
  if (Number.isNaN(date.getTime())) return deny('AccessDenied', 'Invalid date format of the x-oss-date header.');
  if (Math.abs(date.getTime() - options.now.getTime()) > options.maxClockSkewMs) {
    return deny('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
  }
  return null;
}

/** `x-oss-*` headers, lower-case, trimmed, sorted by name. */
function ossHeaders(headers: IncomingHttpHeaders): Array<[string, string]> {
  return Object.keys(headers)
    .filter((name) => name.startsWith('x-oss-'))
    .sort()
    .map((name) => [name, (header(headers, name) ?? '').trim()]);
}

// ---------------------------------------------------------------------------------------------- V1

export function canonicalStringV1(input: SignatureInput, date: string): string {
  const lines = [
    input.method.toUpperCase(),
    header(input.headers, 'content-md5') ?? '',
    header(input.headers, 'content-type') ?? '',
    date,
    ...ossHeaders(input.headers).map(([name, value]) => `${name}:${value}`),
  ];
  const subResources = input.query
    .filter((p) => SUB_RESOURCES.has(p.name))
    .map((p) => p.name)
    .sort();
  const byName = new Map(input.query.map((p) => [p.name, p.value]));
  let resource = `/${input.bucket}/${input.key}`;
  if (subResources.length > 0) {
    resource += `?${subResources.map((name) => (byName.get(name) ? `${name}=${byName.get(name)}` : name)).join('&')}`;
  }
  lines.push(resource);
  return lines.join('\n');
}

function verifyV1(input: SignatureInput, authorization: string, options: SignatureCheckOptions): SignatureCheck {
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(authorization);
  if (!match) return deny('InvalidArgument', 'Authorization header is invalid.');
  const [, accessKeyId, provided] = match as unknown as [string, string, string];
  const secret = options.secretFor(accessKeyId);
  if (secret === undefined) return deny('InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.');
  const date = header(input.headers, 'x-oss-date') ?? header(input.headers, 'date');
  if (!date) return deny('AccessDenied', 'Missing x-oss-date or Date header.');
  const skew = checkSkew(new Date(date), options);
  if (skew) return skew;
  const stringToSign = canonicalStringV1(input, date);
  const expected = createHmac('sha1', secret).update(Buffer.from(stringToSign, 'utf8')).digest('base64');
  if (!safeEqual(expected, provided)) {
    return deny('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', {
      StringToSign: stringToSign,
      SignatureProvided: provided,
      OSSAccessKeyId: accessKeyId,
    });
  }
  return { ok: true, version: 'v1', accessKeyId };
}

// ---------------------------------------------------------------------------------------------- V4

/** encodeURIComponent plus !'()* — what ali-oss's encodeString does. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface ParsedV4Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly product: string;
  readonly terminator: string;
  readonly additionalHeaders: readonly string[];
  readonly signature: string;
}

export function parseV4Authorization(authorization: string): ParsedV4Authorization | null {
  const fields = new Map<string, string>();
  for (const part of authorization.slice('OSS4-HMAC-SHA256 '.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signature = fields.get('Signature');
  if (!credential || !signature) return null;
  const scope = credential.split('/');
  if (scope.length !== 5) return null;
  const [accessKeyId, date, region, product, terminator] = scope as [string, string, string, string, string];
  const additional = fields.get('AdditionalHeaders');
  return {
    accessKeyId,
    date,
    region,
    product,
    terminator,
    additionalHeaders: additional ? additional.split(';').map((h) => h.trim().toLowerCase()) : [],
    signature,
  };
}

export function canonicalRequestV4(input: SignatureInput, additionalHeaders: readonly string[]): string | { missingHeader: string } {
  const uri = encodeRfc3986(`/${input.bucket}/${input.key}`).replace(/%2F/g, '/');
  const query = input.query
    .map((p) => {
      // A sub-resource without a value was a bare key for the signer (null); a plain empty parameter was `k=`.
      const bare = p.value === null || (p.value === '' && SUB_RESOURCES.has(p.name));
      return { name: p.name, encoded: bare ? encodeRfc3986(p.name) : `${encodeRfc3986(p.name)}=${encodeRfc3986(p.value ?? '')}` };
    })
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((p) => p.encoded)
    .join('&');
  const signedHeaders = new Set<string>(additionalHeaders);
  for (const name of Object.keys(input.headers)) {
    if (name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-')) signedHeaders.add(name);
  }
  let canonicalHeaders = '';
  for (const name of [...signedHeaders].sort()) {
    const value = header(input.headers, name);
    if (value === undefined) return { missingHeader: name };
    canonicalHeaders += `${name}:${value.trim()}\n`;
  }
  return [
    input.method.toUpperCase(),
    uri,
    query,
    canonicalHeaders,
    additionalHeaders.join(';'),
    header(input.headers, 'x-oss-content-sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
}

export function signingKeyV4(secret: string, date: string, region: string, product = 'oss'): Buffer {
  const signingDate = createHmac('sha256', `aliyun_v4${secret}`).update(date).digest();
  const signingRegion = createHmac('sha256', signingDate).update(region).digest();
  const signingProduct = createHmac('sha256', signingRegion).update(product).digest();
  return createHmac('sha256', signingProduct).update('aliyun_v4_request').digest();
}

function parseV4Date(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return new Date(NaN);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

function verifyV4(input: SignatureInput, authorization: string, options: SignatureCheckOptions): SignatureCheck {
  const parsed = parseV4Authorization(authorization);
  if (!parsed) return deny('InvalidArgument', 'Authorization header is invalid.');
  const secret = options.secretFor(parsed.accessKeyId);
  if (secret === undefined) return deny('InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.');
  const ossDate = header(input.headers, 'x-oss-date');
  if (!ossDate) return deny('AccessDenied', 'Missing x-oss-date header.');
  const skew = checkSkew(parseV4Date(ossDate), options);
  if (skew) return skew;
  if (!header(input.headers, 'x-oss-content-sha256')) return deny('AccessDenied', 'Missing x-oss-content-sha256 header.');
  if (parsed.date !== ossDate.slice(0, 8)) return deny('SignatureDoesNotMatch', 'Invalid signing date in Authorization header.');
  if (parsed.region !== options.region) {
    return deny('SignatureDoesNotMatch', `Invalid signing region in Authorization header: ${parsed.region}.`);
  }
  if (parsed.product !== 'oss' || parsed.terminator !== 'aliyun_v4_request') {
    return deny('SignatureDoesNotMatch', 'Invalid credential scope in Authorization header.');
  }
  const canonical = canonicalRequestV4(input, parsed.additionalHeaders);
  if (typeof canonical !== 'string') {
    return deny('SignatureDoesNotMatch', `Additional header ${canonical.missingHeader} is missing from the request.`);
  }
  const scope = `${parsed.date}/${parsed.region}/oss/aliyun_v4_request`;
  const stringToSign = ['OSS4-HMAC-SHA256', ossDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const expected = createHmac('sha256', signingKeyV4(secret, parsed.date, parsed.region)).update(stringToSign).digest('hex');
  if (!safeEqual(expected, parsed.signature)) {
    return deny('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', {
      StringToSign: stringToSign,
      SignatureProvided: parsed.signature,
      CanonicalRequest: canonical,
      OSSAccessKeyId: parsed.accessKeyId,
    });
  }
  return { ok: true, version: 'v4', accessKeyId: parsed.accessKeyId };
}
