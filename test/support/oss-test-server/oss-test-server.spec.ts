import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import OSS from 'ali-oss';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OssTestServer } from './oss-test-server';

/** The real client's own signing code, to build raw requests the server must accept or refuse. */
interface SignUtils {
  buildCanonicalString(method: string, resource: string, request: { headers: Record<string, string>; parameters?: unknown }): string;
  authorization(accessKeyId: string, accessKeySecret: string, canonical: string): string;
  authorizationV4(
    accessKeyId: string,
    accessKeySecret: string,
    region: string,
    method: string,
    request: { headers: Record<string, string>; queries?: Record<string, unknown> },
    bucket?: string,
    object?: string,
    additionalHeaders?: string[],
  ): string;
}
const signUtils = createRequire(__filename)('ali-oss/lib/common/signUtils') as SignUtils;

const AK = 'LTAI-test-access-key';
const SK = 'test-secret-0123456789';
const BUCKET = 'photo-memory-test';
const REGION = 'cn-hangzhou';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(server: OssTestServer, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: server.port, method, path, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function v4Date(at = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function client(server: OssTestServer, v4: boolean, secret = SK, accessKeyId = AK): OSS {
  const options = {
    accessKeyId,
    accessKeySecret: secret,
    bucket: BUCKET,
    region: `oss-${REGION}`,
    endpoint: server.endpoint,
    sldEnable: true,
    authorizationV4: v4,
    secure: false,
  };
  return new OSS(options);
}

async function errorOf(promise: Promise<unknown>): Promise<{ status?: number; code?: string; name?: string; message?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { status?: number; code?: string };
  }
  throw new Error('expected a rejection');
}

describe('OssTestServer', () => {
  let server: OssTestServer;

  beforeEach(async () => {
    server = await OssTestServer.start({ accessKeyId: AK, accessKeySecret: SK, bucket: BUCKET, region: REGION });
  });

  afterEach(async () => {
    await server.close();
  });

  describe.each([
    ['V1', false],
    ['V4', true],
  ])('through the real ali-oss client, %s signatures', (version, v4) => {
    it('puts, gets, heads and deletes objects, recording the headers each object came with', async () => {
      const oss = client(server, v4);
      const body = Buffer.from([0, 1, 2, 255, 254]);
      await oss.put('originals/s/i', body, { headers: { 'x-oss-server-side-encryption': 'AES256' } });
      expect(server.objects.get('originals/s/i')!.body.equals(body)).toBe(true);
      expect(server.objects.get('originals/s/i')!.headers['x-oss-server-side-encryption']).toBe('AES256');
      expect(server.requestsOf('PutObject')[0]!.signatureVersion).toBe(version.toLowerCase());

      const got = await oss.get('originals/s/i');
      expect(Buffer.from(got.content as Buffer).equals(body)).toBe(true);
      const head = await oss.head('originals/s/i');
      expect(head.status).toBe(200);
      expect((head.res.headers as Record<string, string>)['content-length']).toBe('5');

      await oss.delete('originals/s/i');
      await oss.delete('originals/s/i');
      expect(server.objects.size).toBe(0);
      expect((await errorOf(oss.get('originals/s/i'))).code).toBe('NoSuchKey');
      const headError = await errorOf(oss.head('originals/s/i'));
      expect(headError.status).toBe(404);
      expect(headError.code).toBe('NoSuchKey');
    });

    it('lists with prefix, max-keys and continuation tokens, in key order', async () => {
      const oss = client(server, v4);
      for (const key of ['p/c', 'p/a', 'p/b', 'q/a']) await oss.put(key, Buffer.from(key));
      const first = await oss.listV2({ prefix: 'p/', 'max-keys': 2 });
      expect(first.objects.map((o) => o.name)).toEqual(['p/a', 'p/b']);
      expect(first.isTruncated).toBe(true);
      const second = await oss.listV2({ prefix: 'p/', 'max-keys': 2, 'continuation-token': first.nextContinuationToken });
      expect(second.objects.map((o) => o.name)).toEqual(['p/c']);
      expect(second.isTruncated).toBe(false);
      const all = await oss.listV2({ prefix: '', 'max-keys': 1000 });
      expect(all.objects.map((o) => o.name)).toEqual(['p/a', 'p/b', 'p/c', 'q/a']);
      expect(all.objects[0]!.size).toBe(3);
    });

    it('deletes many keys, answering <Deleted><Key> entries', async () => {
      const oss = client(server, v4);
      await oss.put('a/1', Buffer.from('1'));
      await oss.put('a/2', Buffer.from('2'));
      const result = await oss.deleteMulti(['a/1', 'a/2', 'a/missing'], { quiet: false });
      expect(result.deleted as unknown).toEqual([{ Key: 'a/1' }, { Key: 'a/2' }, { Key: 'a/missing' }]);
      expect(server.objects.size).toBe(0);
      expect(server.requestsOf('DeleteMultipleObjects')[0]!.keyCount).toBe(3);
    });

    it('answers bucket info and keeps a lifecycle configuration', async () => {
      const oss = client(server, v4);
      const info = (await oss.getBucketInfo(BUCKET)) as { bucket: { Name: string; Location: string } };
      expect(info.bucket.Name).toBe(BUCKET);
      expect(info.bucket.Location).toBe(`oss-${REGION}`);

      expect((await errorOf(oss.getBucketLifecycle(BUCKET))).code).toBe('NoSuchLifecycle');
      await oss.putBucketLifecycle(BUCKET, [
        { id: 'tmp', prefix: 'tmp/', status: 'Enabled', expiration: { days: 1 } } as unknown as OSS.LifecycleRule,
      ]);
      expect(server.lifecycleRules()).toEqual([{ id: 'tmp', prefix: 'tmp/', status: 'Enabled', expirationDays: 1 }]);
      const read = await oss.getBucketLifecycle(BUCKET);
      expect(read.rules).toEqual([{ id: 'tmp', prefix: 'tmp/', status: 'Enabled', expiration: { days: '1' } }]);
    });

    it('refuses a wrong secret with 403 SignatureDoesNotMatch and an unknown key with InvalidAccessKeyId', async () => {
      const wrong = await errorOf(client(server, v4, 'not-the-secret').put('x', Buffer.from('x')));
      expect(wrong.status).toBe(403);
      expect(wrong.code).toBe('SignatureDoesNotMatch');
      const headWrong = await errorOf(client(server, v4, 'not-the-secret').head('x'));
      expect(headWrong.status).toBe(403);
      expect(headWrong.code).toBe('SignatureDoesNotMatch');
      const unknown = await errorOf(client(server, v4, SK, 'LTAI-unknown').get('x'));
      expect(unknown.status).toBe(403);
      expect(unknown.code).toBe('InvalidAccessKeyId');
      expect(server.objects.size).toBe(0);
    });

    it('answers 404 NoSuchBucket for another bucket', async () => {
      const oss = client(server, v4);
      oss.useBucket('another-bucket');
      expect((await errorOf(oss.put('x', Buffer.from('x')))).code).toBe('NoSuchBucket');
    });
  });

  describe('signature verification on raw requests (signed with ali-oss signUtils)', () => {
    it('V1: accepts a correctly signed request, refuses any header, sub-resource or key changed after signing', async () => {
      await server.objects.set('k', {
        key: 'k',
        body: Buffer.from('v'),
        headers: {},
        contentType: 'text/plain',
        etag: '"X"',
        lastModified: new Date(),
      });
      const headers: Record<string, string> = { 'x-oss-date': new Date().toUTCString(), 'x-oss-meta-a': '1' };
      headers.authorization = signUtils.authorization(AK, SK, signUtils.buildCanonicalString('GET', `/${BUCKET}/k`, { headers }));
      expect((await raw(server, 'GET', `/${BUCKET}/k`, headers)).status).toBe(200);

      const tampered = await raw(server, 'GET', `/${BUCKET}/k`, { ...headers, 'x-oss-meta-a': '2' });
      expect(tampered.status).toBe(403);
      expect(tampered.body).toContain('<Code>SignatureDoesNotMatch</Code>');
      expect(tampered.body).toContain('<StringToSign>');
      expect((await raw(server, 'GET', `/${BUCKET}/k2`, headers)).status).toBe(403);
      expect((await raw(server, 'GET', `/${BUCKET}/?bucketInfo`, headers)).status).toBe(403);
    });

    it('V1: signs sub-resources (bare when empty) but not plain parameters', async () => {
      const headers: Record<string, string> = { 'x-oss-date': new Date().toUTCString() };
      headers.authorization = signUtils.authorization(
        AK,
        SK,
        signUtils.buildCanonicalString('GET', `/${BUCKET}/`, { headers, parameters: { 'continuation-token': 'cC9h' } }),
      );
      const ok = await raw(server, 'GET', `/${BUCKET}/?list-type=2&max-keys=5&prefix=&continuation-token=cC9h`, headers);
      expect(ok.status).toBe(200);
      const otherToken = await raw(server, 'GET', `/${BUCKET}/?list-type=2&continuation-token=cC9i`, headers);
      expect(otherToken.status).toBe(403);
    });

    it('V4: accepts a correctly signed request; refuses a changed query, prefix= signed bare, another region', async () => {
      const headers: Record<string, string> = { 'x-oss-date': v4Date(), 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD' };
      const sign = (queries: Record<string, unknown>, region = REGION) =>
        signUtils.authorizationV4(AK, SK, region, 'GET', { headers, queries }, BUCKET, '');
      const path = `/${BUCKET}/?list-type=2&prefix=&max-keys=10`;
      expect((await raw(server, 'GET', path, { ...headers, authorization: sign({ 'list-type': 2, prefix: '', 'max-keys': 10 }) })).status).toBe(200);

      const changed = await raw(server, 'GET', `/${BUCKET}/?list-type=2&prefix=&max-keys=11`, {
        ...headers,
        authorization: sign({ 'list-type': 2, prefix: '', 'max-keys': 10 }),
      });
      expect(changed.status).toBe(403);
      expect(changed.body).toContain('<CanonicalRequest>');

      const bare = await raw(server, 'GET', path, { ...headers, authorization: sign({ 'list-type': 2, prefix: null, 'max-keys': 10 }) });
      expect(bare.status).toBe(403);

      const region = await raw(server, 'GET', path, {
        ...headers,
        authorization: sign({ 'list-type': 2, prefix: '', 'max-keys': 10 }, 'cn-shanghai'),
      });
      expect(region.status).toBe(403);
      expect(region.body).toContain('SignatureDoesNotMatch');
    });

    it('V4: signs an empty sub-resource as a bare key, and covers additional headers', async () => {
      const headers: Record<string, string> = {
        'x-oss-date': v4Date(),
        'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
        'x-custom': 'yes',
      };
      const authorization = signUtils.authorizationV4(AK, SK, REGION, 'GET', { headers, queries: { bucketInfo: null } }, BUCKET, '', ['x-custom']);
      expect(authorization).toContain('AdditionalHeaders=x-custom,');
      expect((await raw(server, 'GET', `/${BUCKET}/?bucketInfo=`, { ...headers, authorization })).status).toBe(200);
      expect((await raw(server, 'GET', `/${BUCKET}/?bucketInfo=`, { ...headers, 'x-custom': 'no', authorization })).status).toBe(403);
    });

    it('refuses a missing signature, a stale date, and a body that does not match Content-MD5', async () => {
      const none = await raw(server, 'GET', `/${BUCKET}/k`, { 'x-oss-date': new Date().toUTCString() });
      expect(none.status).toBe(403);
      expect(none.body).toContain('<Code>AccessDenied</Code>');

      const stale: Record<string, string> = { 'x-oss-date': v4Date(new Date(Date.now() - 60 * 60 * 1000)), 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD' };
      stale.authorization = signUtils.authorizationV4(AK, SK, REGION, 'GET', { headers: stale, queries: { bucketInfo: null } }, BUCKET, '');
      const staleResponse = await raw(server, 'GET', `/${BUCKET}/?bucketInfo`, stale);
      expect(staleResponse.status).toBe(403);
      expect(staleResponse.body).toContain('RequestTimeTooSkewed');

      const body = Buffer.from('payload');
      const put: Record<string, string> = {
        'x-oss-date': new Date().toUTCString(),
        'content-md5': createHash('md5').update('other').digest('base64'),
        'content-type': 'application/octet-stream',
      };
      put.authorization = signUtils.authorization(AK, SK, signUtils.buildCanonicalString('PUT', `/${BUCKET}/k`, { headers: put }));
      const digest = await raw(server, 'PUT', `/${BUCKET}/k`, put, body);
      expect(digest.status).toBe(400);
      expect(digest.body).toContain('InvalidDigest');
      expect(server.objects.has('k')).toBe(false);
    });

    it('HEAD errors come base64-encoded in x-oss-err, with no body', async () => {
      const response = await raw(server, 'HEAD', `/${BUCKET}/k`, { 'x-oss-date': new Date().toUTCString() });
      expect(response.status).toBe(403);
      expect(response.body).toBe('');
      const xml = Buffer.from(String(response.headers['x-oss-err']), 'base64').toString('utf8');
      expect(xml).toContain('<Code>AccessDenied</Code>');
    });
  });

  describe('fault injection and restarts', () => {
    it('failNext answers the given status to the next matching requests only', async () => {
      const oss = client(server, true);
      server.failNext('put', 2, 503);
      expect((await errorOf(oss.put('a', Buffer.from('1')))).status).toBe(503);
      await oss.get('a').catch(() => undefined); // a get is not a put: not failed by the fault
      expect((await errorOf(oss.put('a', Buffer.from('1')))).code).toBe('ServiceUnavailable');
      await oss.put('a', Buffer.from('1'));
      expect(server.requestsOf('PutObject').map((r) => r.status)).toEqual([503, 503, 200]);

      server.failNext('any', 1, 500);
      expect((await errorOf(oss.listV2({ 'max-keys': 1 }))).status).toBe(500);
    });

    it('a delay answers normally, late', async () => {
      const oss = client(server, true);
      await oss.put('a', Buffer.from('1'));
      server.failNext('get', 1, { delayMs: 50 });
      expect(Buffer.from((await oss.get('a')).content as Buffer).toString()).toBe('1');
      expect(server.requestsOf('GetObject').map((r) => r.status)).toEqual([200]);
    });

    it("'reset' drops the connection", async () => {
      const oss = client(server, false);
      server.failNext('get', 1, 'reset');
      const error = await errorOf(oss.get('a'));
      expect(error.status).toBe(-1);
    });

    it('stop() refuses connections, start() serves again on the same port with the same objects', async () => {
      const oss = client(server, true);
      await oss.put('kept', Buffer.from('kept'));
      const port = server.port;
      await server.stop();
      expect(server.isListening).toBe(false);
      expect((await errorOf(oss.get('kept'))).status).toBe(-1);
      await server.start();
      expect(server.port).toBe(port);
      expect(Buffer.from((await oss.get('kept')).content as Buffer).toString()).toBe('kept');
    });
  });
});
