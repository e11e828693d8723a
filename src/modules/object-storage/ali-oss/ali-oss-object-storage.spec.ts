import OSS from 'ali-oss';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OssTestServer } from '../../../../test/support/oss-test-server/oss-test-server';
import { InvalidObjectKeyError, ObjectStorageUnavailableError } from '../object-storage.port';
import {
  AliOssObjectStorage,
  type AliOssObjectStorageOptions,
  assertMainlandRegion,
  MAINLAND_OSS_REGIONS,
  OssUnavailableError,
} from './ali-oss-object-storage';

const AK = 'LTAI-adapter-test';
const SK = 'adapter-secret-0123456789';
const BUCKET = 'photo-memory-adapter';
const REGION = 'cn-shanghai';

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('AliOssObjectStorage', () => {
  describe('configuration', () => {
    const base: AliOssObjectStorageOptions = { region: 'cn-hangzhou', bucket: BUCKET, accessKeyId: AK, accessKeySecret: SK };

    it('allows exactly the mainland regions', () => {
      expect([...MAINLAND_OSS_REGIONS]).toEqual([
        'cn-hangzhou', 'cn-shanghai', 'cn-qingdao', 'cn-beijing', 'cn-zhangjiakou', 'cn-huhehaote',
        'cn-wulanchabu', 'cn-shenzhen', 'cn-heyuan', 'cn-guangzhou', 'cn-chengdu',
      ]);
      for (const region of MAINLAND_OSS_REGIONS) expect(assertMainlandRegion(region)).toBe(region);
      expect(assertMainlandRegion('oss-cn-beijing')).toBe('cn-beijing');
    });

    it.each(['cn-hongkong', 'oss-cn-hongkong', 'ap-southeast-1', 'us-west-1', 'eu-central-1', 'CN-HANGZHOU', '', 'cn-hangzhou-internal'])(
      'refuses the non-mainland region %j, naming OSS_REGION',
      (region) => {
        expect(() => assertMainlandRegion(region)).toThrow(/OSS_REGION/);
        expect(() => new AliOssObjectStorage({ ...base, region })).toThrow(/OSS_REGION.*not an allowed mainland/);
      },
    );

    it('refuses a plain-http endpoint unless https is explicitly turned off', () => {
      expect(() => new AliOssObjectStorage({ ...base, endpoint: 'http://oss-cn-hangzhou.aliyuncs.com' })).toThrow(/OSS_ENDPOINT/);
      expect(() => new AliOssObjectStorage({ ...base, endpoint: 'http://127.0.0.1:9', secure: false })).not.toThrow();
      expect(() => new AliOssObjectStorage({ ...base, endpoint: 'https://oss-cn-hangzhou.aliyuncs.com' })).not.toThrow();
      expect(() => new AliOssObjectStorage({ ...base, endpoint: 'oss-cn-hangzhou.aliyuncs.com' })).not.toThrow();
    });

    it('refuses a missing credential, a bad bucket name, a KMS key without KMS, bad numbers — without echoing secrets', () => {
      expect(() => new AliOssObjectStorage({ ...base, accessKeySecret: ' ' })).toThrow(/OSS_ACCESS_KEY_SECRET/);
      expect(() => new AliOssObjectStorage({ ...base, accessKeyId: '' })).toThrow(/OSS_ACCESS_KEY_ID/);
      expect(() => new AliOssObjectStorage({ ...base, bucket: 'Bad_Bucket' })).toThrow(/OSS_BUCKET/);
      expect(() => new AliOssObjectStorage({ ...base, kmsKeyId: 'key-1' })).toThrow(/OSS_KMS_KEY_ID/);
      expect(() => new AliOssObjectStorage({ ...base, maxRetries: -1 })).toThrow(/OSS_MAX_RETRIES/);
      expect(() => new AliOssObjectStorage({ ...base, timeoutMs: 0 })).toThrow(/OSS_TIMEOUT_MS/);
      try {
        new AliOssObjectStorage({ ...base, region: 'cn-hongkong' });
      } catch (err) {
        expect((err as Error).message).not.toContain(SK);
      }
    });
  });

  describe('against the OSS test server', () => {
    let server: OssTestServer;
    const opened: AliOssObjectStorage[] = [];

    const storage = (overrides: Partial<AliOssObjectStorageOptions> = {}): AliOssObjectStorage => {
      const created = new AliOssObjectStorage({
        region: REGION,
        bucket: BUCKET,
        accessKeyId: AK,
        accessKeySecret: SK,
        endpoint: server.endpoint,
        secure: false,
        pathStyle: true,
        retryBaseDelayMs: 2,
        retryMaxDelayMs: 10,
        ...overrides,
      });
      opened.push(created);
      return created;
    };

    beforeEach(async () => {
      server = await OssTestServer.start({ accessKeyId: AK, accessKeySecret: SK, bucket: BUCKET, region: REGION });
    });

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await server.close();
    });

    it("is of kind 'ali-oss' and signs V4 by default", async () => {
      const oss = storage();
      expect(oss.kind).toBe('ali-oss');
      await oss.put('originals/s/i', Buffer.from('x'));
      expect(server.requestsOf('PutObject')[0]!.signatureVersion).toBe('v4');
      await storage({ authorizationV4: false }).put('originals/s/j', Buffer.from('y'));
      expect(server.requestsOf('PutObject')[1]!.signatureVersion).toBe('v1');
    });

    describe('connections', () => {
      it('reuses keep-alive connections', async () => {
        const oss = storage();
        for (let i = 0; i < 20; i++) await oss.put(`tmp/s/j/${i}`, Buffer.from('x'));
        expect(server.requests).toHaveLength(20);
        expect(server.connectionCount).toBeLessThan(5);
      });

      it('the idle-socket timeout does not cut a request that is slow to answer', async () => {
        const oss = storage({ freeSocketTimeoutMs: 20, maxRetries: 0 });
        await oss.put('tmp/s/j/slow', Buffer.from('slow'));
        server.failNext('get', 1, { delayMs: 150 });
        expect((await oss.get('tmp/s/j/slow')).toString()).toBe('slow');
        expect(server.requestsOf('GetObject').map((r) => r.status)).toEqual([200]);
      });
    });

    describe('server-side encryption', () => {
      it('sends x-oss-server-side-encryption: AES256 on every put, overwrites included', async () => {
        const oss = storage();
        await oss.put('originals/s/a', Buffer.from('1'));
        await oss.put('originals/s/a', Buffer.from('2'));
        await oss.put('tmp/s/j/b', Buffer.alloc(0));
        await oss.put('artworks/s/c', Buffer.from('3'), { contentType: 'image/webp' });
        const puts = server.requestsOf('PutObject');
        expect(puts).toHaveLength(4);
        for (const put of puts) expect(put.headers['x-oss-server-side-encryption']).toBe('AES256');
        for (const object of server.objects.values()) expect(object.headers['x-oss-server-side-encryption']).toBe('AES256');
        expect(server.objects.get('originals/s/a')!.contentType).toBe('application/octet-stream');
        expect(server.objects.get('artworks/s/c')!.contentType).toBe('image/webp');
      });

      it('sends KMS with its key id, or SM4, when configured', async () => {
        await storage({ serverSideEncryption: 'KMS', kmsKeyId: 'kms-key-123' }).put('a/kms', Buffer.from('k'));
        await storage({ serverSideEncryption: 'SM4' }).put('a/sm4', Buffer.from('s'));
        expect(server.objects.get('a/kms')!.headers['x-oss-server-side-encryption']).toBe('KMS');
        expect(server.objects.get('a/kms')!.headers['x-oss-server-side-encryption-key-id']).toBe('kms-key-123');
        expect(server.objects.get('a/sm4')!.headers['x-oss-server-side-encryption']).toBe('SM4');
        expect(server.objects.get('a/sm4')!.headers['x-oss-server-side-encryption-key-id']).toBeUndefined();
      });
    });

    describe('retries', () => {
      it('retries a 503 and then succeeds', async () => {
        const oss = storage();
        server.failNext('put', 2, 503);
        await oss.put('originals/s/r', Buffer.from('retried'));
        expect(server.requestsOf('PutObject').map((r) => r.status)).toEqual([503, 503, 200]);
        expect(server.objects.get('originals/s/r')!.body.toString()).toBe('retried');

        server.failNext('get', 1, 500);
        expect((await oss.get('originals/s/r')).toString()).toBe('retried');
        server.failNext('delete', 1, 502);
        await oss.delete('originals/s/r');
        expect(server.objects.size).toBe(0);
      });

      it('gives ObjectStorageUnavailableError after persistent 503s, bounded by maxRetries', async () => {
        const oss = storage({ maxRetries: 2 });
        server.failNext('put', 100, 503);
        const error = await failure(oss.put('originals/s/x', Buffer.from('x')));
        expect(error).toBeInstanceOf(ObjectStorageUnavailableError);
        expect(error).toBeInstanceOf(OssUnavailableError);
        expect((error as OssUnavailableError).code).toBe('OBJECT_STORAGE_UNAVAILABLE');
        expect((error as OssUnavailableError).attempts).toBe(3);
        expect((error as OssUnavailableError).status).toBe(503);
        expect((error as OssUnavailableError).ossCode).toBe('ServiceUnavailable');
        expect((error as OssUnavailableError).requestId).toMatch(/^[0-9A-F]{24}$/);
        expect(error.message).toMatch(/put failed after 3 attempts \(ServiceUnavailable, HTTP 503\)/);
        expect(server.requestsOf('PutObject')).toHaveLength(3);
        expect(server.objects.size).toBe(0);
      });

      it('does not keep request params (which hold the object bytes) in the error cause', async () => {
        const oss = storage({ maxRetries: 0 });
        server.failNext('put', 1, 500);
        const error = await failure(oss.put('originals/s/secret', Buffer.from('ciphertext-bytes')));
        const cause = error.cause as Record<string, unknown>;
        expect(cause).toBeInstanceOf(Error);
        expect(cause.params).toBeUndefined();
        expect(JSON.stringify({ ...cause, message: (cause as unknown as Error).message })).not.toContain('ciphertext');
      });

      it('retries a dropped connection and a response that never comes (timeout)', async () => {
        const oss = storage({ timeoutMs: 300 });
        server.failNext('put', 1, 'reset');
        await oss.put('originals/s/n', Buffer.from('network'));
        server.failNext('get', 1, 'hang');
        expect((await oss.get('originals/s/n')).toString()).toBe('network');
        expect(server.requestsOf('GetObject')).toHaveLength(2);
      });

      it('retries a failed page in the middle of a listing', async () => {
        const oss = storage({ listPageSize: 2 });
        for (const k of ['l/1', 'l/2', 'l/3', 'l/4', 'l/5']) await oss.put(k, Buffer.from(k));
        const keys: string[] = [];
        for await (const info of oss.list('l/')) {
          keys.push(info.key);
          if (keys.length === 2) server.failNext('list', 1, 503);
        }
        expect(keys).toEqual(['l/1', 'l/2', 'l/3', 'l/4', 'l/5']);
        expect(server.requestsOf('ListObjectsV2').map((r) => r.status)).toEqual([200, 503, 200, 200]);
      });

      it('reports the storage down while the server is stopped, and up again after a restart', async () => {
        const oss = storage({ maxRetries: 1 });
        await oss.checkHealth();
        await server.stop();
        const error = await failure(oss.checkHealth());
        expect(error).toBeInstanceOf(ObjectStorageUnavailableError);
        expect(error.message).toMatch(/checkHealth failed after 2 attempts/);
        await server.start();
        await expect(oss.checkHealth()).resolves.toBeUndefined();
      });
    });

    describe('refusals are not retried and say what to fix', () => {
      it('a wrong secret is refused by the server: 403 SignatureDoesNotMatch, a clear error, one request', async () => {
        const oss = storage({ accessKeySecret: 'not-the-right-secret' });
        const error = await failure(oss.put('originals/s/w', Buffer.from('x')));
        expect(error).toBeInstanceOf(ObjectStorageUnavailableError);
        expect(error.message).toMatch(/OSS refused the credentials \(SignatureDoesNotMatch, HTTP 403\).*OSS_ACCESS_KEY_SECRET/);
        expect(error.message).not.toContain('not-the-right-secret');
        expect((error as OssUnavailableError).status).toBe(403);
        expect(server.requestsOf('PutObject')).toHaveLength(1);
        expect(server.objects.size).toBe(0);
        await expect(oss.checkHealth()).rejects.toThrow(/credentials/);
        await expect(oss.get('originals/s/w')).rejects.toThrow(/SignatureDoesNotMatch/);
      });

      it('an unknown access key id, and a bucket that does not exist', async () => {
        await expect(storage({ accessKeyId: 'LTAI-unknown' }).get('a/b')).rejects.toThrow(/credentials \(InvalidAccessKeyId, HTTP 403\)/);
        await expect(storage({ bucket: 'another-bucket' }).put('a/b', Buffer.from('x'))).rejects.toThrow(
          /bucket another-bucket does not exist \(NoSuchBucket, HTTP 404\)/,
        );
        expect(server.requests).toHaveLength(2);
      });

      it('a delete OSS denies fails loudly, from delete and from deleteMany (keys not reported deleted)', async () => {
        const oss = storage();
        for (const key of ['tmp/s/j/a', 'tmp/s/j/b', 'locked/s/c']) await oss.put(key, Buffer.from(key));
        server.denyDelete('locked/');
        await expect(oss.delete('locked/s/c')).rejects.toThrow(/OSS denied delete \(AccessDenied, HTTP 403\)/);
        const error = await failure(oss.deleteMany(['tmp/s/j/a', 'locked/s/c', 'tmp/s/j/b']));
        expect(error).toBeInstanceOf(ObjectStorageUnavailableError);
        expect([...server.objects.keys()]).toEqual(['locked/s/c']);
      });
    });

    describe('batching and laziness', () => {
      const keys = Array.from({ length: 1050 }, (_, i) => `tmp/s/job/f-${String(i).padStart(4, '0')}`);

      beforeEach(() => {
        for (const key of keys) {
          server.objects.set(key, { key, body: Buffer.from('x'), headers: {}, contentType: 'application/octet-stream', etag: '"X"', lastModified: new Date() });
        }
      });

      it('deleteMany sends at most 1000 keys per DeleteMultipleObjects, each key once', async () => {
        await storage().deleteMany([...keys, ...keys.slice(0, 10)]);
        expect(server.requestsOf('DeleteMultipleObjects').map((r) => r.keyCount)).toEqual([1000, 50]);
        expect(server.requestsOf('DeleteObject')).toHaveLength(0);
        expect(server.objects.size).toBe(0);
      });

      it('deleteMany refuses invalid keys before sending anything', async () => {
        await expect(storage().deleteMany([keys[0]!, 'a//b'])).rejects.toBeInstanceOf(InvalidObjectKeyError);
        expect(server.requests).toHaveLength(0);
      });

      it('list fetches a page only when the consumer gets to it', async () => {
        const oss = storage();
        const iterable = oss.list('tmp/');
        expect(server.requestsOf('ListObjectsV2')).toHaveLength(0);
        for await (const info of iterable) {
          expect(info.key).toBe(keys[0]);
          break;
        }
        expect(server.requestsOf('ListObjectsV2')).toHaveLength(1);

        let count = 0;
        for await (const _ of oss.list('tmp/')) count++;
        expect(count).toBe(1050);
        const pages = server.requestsOf('ListObjectsV2').slice(1);
        expect(pages).toHaveLength(2);
        expect(pages[1]!.query.some((p) => p.name === 'continuation-token')).toBe(true);
      });

      it('checkHealth is one cheap ListObjectsV2 of one key', async () => {
        await storage().checkHealth();
        expect(server.requests).toHaveLength(1);
        expect(server.requests[0]!.operation).toBe('ListObjectsV2');
        expect(server.requests[0]!.query.find((p) => p.name === 'max-keys')?.value).toBe('1');
      });
    });

    describe('ensureLifecycleRules', () => {
      const rawClient = () =>
        new OSS({ accessKeyId: AK, accessKeySecret: SK, bucket: BUCKET, region: `oss-${REGION}`, endpoint: server.endpoint, secure: false, sldEnable: true } as OSS.Options);

      it('creates the rules on the server and answers true', async () => {
        const oss = storage();
        const ok = await oss.ensureLifecycleRules([
          { id: 'photo-memory-tmp', prefix: 'tmp/', days: 1 },
          { id: 'photo-memory-originals', prefix: 'originals/', days: 2 },
        ]);
        expect(ok).toBe(true);
        expect(server.lifecycleRules()).toEqual([
          { id: 'photo-memory-tmp', prefix: 'tmp/', status: 'Enabled', expirationDays: 1 },
          { id: 'photo-memory-originals', prefix: 'originals/', status: 'Enabled', expirationDays: 2 },
        ]);
      });

      it('keeps other rules, updates its own, and writes nothing when already in place', async () => {
        await rawClient().putBucketLifecycle(BUCKET, [
          { id: 'ops-logs', prefix: 'logs&amp;audit/', status: 'Enabled', expiration: { days: 30 } } as unknown as OSS.LifecycleRule,
          { id: 'photo-memory-tmp', prefix: 'tmp/', status: 'Enabled', expiration: { days: 7 } } as unknown as OSS.LifecycleRule,
        ]);
        const oss = storage();
        const rules = [
          { id: 'photo-memory-tmp', prefix: 'tmp/', days: 1 },
          { id: 'photo-memory-originals', prefix: 'originals/', days: 2 },
        ];
        expect(await oss.ensureLifecycleRules(rules)).toBe(true);
        expect(server.lifecycleRules()).toEqual([
          { id: 'ops-logs', prefix: 'logs&audit/', status: 'Enabled', expirationDays: 30 },
          { id: 'photo-memory-tmp', prefix: 'tmp/', status: 'Enabled', expirationDays: 1 },
          { id: 'photo-memory-originals', prefix: 'originals/', status: 'Enabled', expirationDays: 2 },
        ]);
        const puts = server.requestsOf('PutBucketLifecycle').length;
        expect(await oss.ensureLifecycleRules(rules)).toBe(true);
        expect(server.requestsOf('PutBucketLifecycle')).toHaveLength(puts);
      });

      it('refuses rules that would be dangerous or malformed, before calling OSS', async () => {
        const oss = storage();
        await expect(oss.ensureLifecycleRules([{ id: 'all', prefix: '', days: 1 }])).rejects.toThrow(/empty prefix/);
        await expect(oss.ensureLifecycleRules([{ id: 'x', prefix: 'tmp/', days: 0 }])).rejects.toThrow(/days/);
        await expect(oss.ensureLifecycleRules([{ id: 'x', prefix: 'tmp/', days: 1.5 }])).rejects.toThrow(/days/);
        await expect(oss.ensureLifecycleRules([{ id: 'bad id', prefix: 'tmp/', days: 1 }])).rejects.toThrow(/id/);
        await expect(oss.ensureLifecycleRules([{ id: 'x', prefix: '../', days: 1 }])).rejects.toBeInstanceOf(InvalidObjectKeyError);
        await expect(
          oss.ensureLifecycleRules([
            { id: 'x', prefix: 'a/', days: 1 },
            { id: 'x', prefix: 'b/', days: 1 },
          ]),
        ).rejects.toThrow(/twice/);
        expect(server.requests).toHaveLength(0);
      });
    });
  });
});
