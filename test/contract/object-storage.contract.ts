import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidObjectKeyError,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStorage,
} from '../../src/modules/object-storage/object-storage.port';

export interface ObjectStorageFixture {
  readonly storage: ObjectStorage;
  /** Releases what the factory opened (servers, temp directories, agents). */
  readonly cleanup?: () => Promise<void>;
}

/** Creates a fresh, empty storage for every test. */
export type ObjectStorageFactory = () => Promise<ObjectStorageFixture>;

export async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iterable) out.push(info);
  return out;
}

export async function collectKeys(iterable: AsyncIterable<ObjectInfo>): Promise<string[]> {
  return (await collect(iterable)).map((o) => o.key);
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
    }
  });
  await Promise.all(workers);
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

const SUBJECT = '0b7c4f0e-5d8a-4a53-9a55-5e0f1f8c2a11';
const OTHER_SUBJECT = '7d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
const INVALID_KEYS = ['', '../x', '/abs', 'a//b', 'a/../b', './x', 'a/./b', 'a/', 'a b', 'a\\b', 'a/\u00e9', '..'];

/**
 * The ObjectStorage contract. Every adapter runs it through its own spec file:
 * `objectStorageContract('filesystem', factory)`.
 */
export function objectStorageContract(name: string, factory: ObjectStorageFactory): void {
  describe(`ObjectStorage contract: ${name}`, () => {
    let fixture: ObjectStorageFixture;
    let storage: ObjectStorage;

    beforeEach(async () => {
      fixture = await factory();
      storage = fixture.storage;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    it('names its kind', () => {
      expect(typeof storage.kind).toBe('string');
      expect(storage.kind.length).toBeGreaterThan(0);
    });

    describe('put / get / head', () => {
      it('round-trips binary bytes exactly', async () => {
        const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);
        const key = `originals/${SUBJECT}/img-1`;
        await storage.put(key, body);
        const read = await storage.get(key);
        expect(Buffer.isBuffer(read)).toBe(true);
        expect(read.equals(body)).toBe(true);
      });

      it('round-trips an empty object', async () => {
        const key = `tmp/${SUBJECT}/job-1/empty`;
        await storage.put(key, Buffer.alloc(0));
        const read = await storage.get(key);
        expect(read.length).toBe(0);
        const info = await storage.head(key);
        expect(info).not.toBeNull();
        expect(info!.size).toBe(0);
      });

      it('round-trips a 5 MiB object', async () => {
        const body = randomBytes(5 * 1024 * 1024);
        const key = `artworks/${SUBJECT}/art-5mib`;
        await storage.put(key, body, { contentType: 'application/octet-stream' });
        const read = await storage.get(key);
        expect(read.length).toBe(body.length);
        expect(read.equals(body)).toBe(true);
        expect((await storage.head(key))!.size).toBe(body.length);
      });

      it('overwrites an existing object with the new bytes', async () => {
        const key = `originals/${SUBJECT}/img-2`;
        await storage.put(key, Buffer.from('first version, longer than the second'));
        await storage.put(key, Buffer.from('second'));
        expect((await storage.get(key)).toString()).toBe('second');
        expect((await storage.head(key))!.size).toBe('second'.length);
        expect(await collectKeys(storage.list(`originals/${SUBJECT}/`))).toEqual([key]);
      });

      it('head describes the object: key, size and a last-modified date', async () => {
        const key = `exports/${SUBJECT}/export-1`;
        await storage.put(key, Buffer.from('12345'));
        const info = await storage.head(key);
        expect(info).not.toBeNull();
        expect(info!.key).toBe(key);
        expect(info!.size).toBe(5);
        expect(info!.lastModified).toBeInstanceOf(Date);
        expect(Number.isNaN(info!.lastModified.getTime())).toBe(false);
      });

      it('get of a missing key throws ObjectNotFoundError naming the key', async () => {
        const key = `originals/${SUBJECT}/missing`;
        const error = await storage.get(key).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ObjectNotFoundError);
        expect((error as ObjectNotFoundError).key).toBe(key);
        expect((error as ObjectNotFoundError).code).toBe('OBJECT_NOT_FOUND');
      });

      it('head of a missing key is null', async () => {
        expect(await storage.head(`originals/${SUBJECT}/missing`)).toBeNull();
      });

      it('keeps distinct keys apart (same name under different subjects)', async () => {
        await storage.put(`originals/${SUBJECT}/img`, Buffer.from('a'));
        await storage.put(`originals/${OTHER_SUBJECT}/img`, Buffer.from('b'));
        expect((await storage.get(`originals/${SUBJECT}/img`)).toString()).toBe('a');
        expect((await storage.get(`originals/${OTHER_SUBJECT}/img`)).toString()).toBe('b');
      });
    });

    describe('delete', () => {
      it('deletes an object; get then throws and head is null', async () => {
        const key = `originals/${SUBJECT}/img-3`;
        await storage.put(key, Buffer.from('x'));
        await storage.delete(key);
        await expect(storage.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
        expect(await storage.head(key)).toBeNull();
      });

      it('is idempotent: deleting twice, or a key never written, succeeds', async () => {
        const key = `originals/${SUBJECT}/img-4`;
        await storage.put(key, Buffer.from('x'));
        await storage.delete(key);
        await expect(storage.delete(key)).resolves.toBeUndefined();
        await expect(storage.delete(`originals/${SUBJECT}/never-written`)).resolves.toBeUndefined();
      });

      it('leaves sibling objects alone', async () => {
        await storage.put(`tmp/${SUBJECT}/job/a`, Buffer.from('a'));
        await storage.put(`tmp/${SUBJECT}/job/b`, Buffer.from('b'));
        await storage.delete(`tmp/${SUBJECT}/job/a`);
        expect(await collectKeys(storage.list(`tmp/${SUBJECT}/`))).toEqual([`tmp/${SUBJECT}/job/b`]);
        expect((await storage.get(`tmp/${SUBJECT}/job/b`)).toString()).toBe('b');
      });

      it('an object can be written again after it was deleted', async () => {
        const key = `tmp/${SUBJECT}/job/again`;
        await storage.put(key, Buffer.from('1'));
        await storage.delete(key);
        await storage.put(key, Buffer.from('2'));
        expect((await storage.get(key)).toString()).toBe('2');
      });
    });

    describe('deleteMany', () => {
      it('deletes 1,050 objects (more than one OSS batch), tolerates missing and duplicate keys, spares others', async () => {
        const job = `tmp/${SUBJECT}/job-many/`;
        const keys = Array.from({ length: 1050 }, (_, i) => `${job}f-${String(i).padStart(4, '0')}`);
        await inParallel(keys, 16, (key) => storage.put(key, Buffer.from(key.slice(-4))));
        const survivor = `tmp/${OTHER_SUBJECT}/job-many/keep`;
        await storage.put(survivor, Buffer.from('keep'));

        const listed = await collectKeys(storage.list(job));
        expect(listed.length).toBe(1050);
        expect(listed).toEqual(keys);

        await storage.deleteMany([...keys, `${job}never-written`, keys[0]!, keys[1049]!]);
        expect(await collectKeys(storage.list(job))).toEqual([]);
        expect(await storage.head(keys[500]!)).toBeNull();
        expect((await storage.get(survivor)).toString()).toBe('keep');
      });

      it('accepts an empty list', async () => {
        await expect(storage.deleteMany([])).resolves.toBeUndefined();
      });

      it('refuses the whole batch when a key is invalid, deleting nothing', async () => {
        const key = `tmp/${SUBJECT}/job/kept`;
        await storage.put(key, Buffer.from('x'));
        await expect(storage.deleteMany([key, '../etc/passwd'])).rejects.toBeInstanceOf(InvalidObjectKeyError);
        expect(await storage.head(key)).not.toBeNull();
      });
    });

    describe('list', () => {
      const keys = [
        `originals/${SUBJECT}/b`,
        `originals/${SUBJECT}/a`,
        `originals/${SUBJECT}-x/q`,
        `originals/${SUBJECT}0/z`,
        `originals/${OTHER_SUBJECT}/m`,
        `artworks/${SUBJECT}/z`,
        `originals-archive`,
        `tmp/${SUBJECT}/job/nested/deeper/file.bin`,
      ];

      beforeEach(async () => {
        for (const [i, key] of keys.entries()) await storage.put(key, Buffer.alloc(i + 1, i));
      });

      it('lists everything under a prefix, in key (byte) order, with sizes', async () => {
        const infos = await collect(storage.list(`originals/${SUBJECT}/`));
        expect(infos.map((i) => i.key)).toEqual([`originals/${SUBJECT}/a`, `originals/${SUBJECT}/b`]);
        expect(infos.map((i) => i.size)).toEqual([2, 1]);
        for (const info of infos) expect(info.lastModified).toBeInstanceOf(Date);
      });

      it('treats the prefix as a string prefix, not a directory ("x-" < "x/" < "x0")', async () => {
        expect(await collectKeys(storage.list(`originals/${SUBJECT}`))).toEqual([
          `originals/${SUBJECT}-x/q`,
          `originals/${SUBJECT}/a`,
          `originals/${SUBJECT}/b`,
          `originals/${SUBJECT}0/z`,
        ]);
        expect(await collectKeys(storage.list('originals'))).toEqual(
          keys.filter((k) => k.startsWith('originals')).sort(byteOrder),
        );
      });

      it("lists the whole storage for '' in key order, nested keys included", async () => {
        expect(await collectKeys(storage.list(''))).toEqual([...keys].sort(byteOrder));
      });

      it('yields nothing for a prefix that matches nothing', async () => {
        expect(await collect(storage.list('exports/'))).toEqual([]);
        expect(await collect(storage.list(`originals/${SUBJECT}/zz`))).toEqual([]);
        expect(await collect(storage.list('nothing-here/at/all/'))).toEqual([]);
      });

      it('is lazy: nothing is read until iteration, and breaking early is clean', async () => {
        const iterable = storage.list(`exports/${SUBJECT}/`);
        await storage.put(`exports/${SUBJECT}/late`, Buffer.from('late'));
        expect(await collectKeys(iterable)).toEqual([`exports/${SUBJECT}/late`]);

        const seen: string[] = [];
        for await (const info of storage.list('originals/')) {
          seen.push(info.key);
          break;
        }
        expect(seen).toEqual([[...keys].filter((k) => k.startsWith('originals/')).sort(byteOrder)[0]]);
        expect((await collectKeys(storage.list('originals/'))).length).toBe(5);
      });

      it('reflects deletes', async () => {
        await storage.delete(`originals/${SUBJECT}/a`);
        expect(await collectKeys(storage.list(`originals/${SUBJECT}/`))).toEqual([`originals/${SUBJECT}/b`]);
      });

      it('refuses an invalid prefix when iterated', async () => {
        for (const prefix of ['../', '/abs', 'a//', '..']) {
          await expect(collect(storage.list(prefix))).rejects.toBeInstanceOf(InvalidObjectKeyError);
        }
      });
    });

    describe('invalid keys', () => {
      it.each(INVALID_KEYS)('refuses %j on put, get, head and delete', async (key) => {
        await expect(storage.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidObjectKeyError);
        await expect(storage.get(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
        await expect(storage.head(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
        await expect(storage.delete(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
      });

      it('stores nothing for a refused key', async () => {
        await storage.put('../x', Buffer.from('x')).catch(() => undefined);
        expect(await collect(storage.list(''))).toEqual([]);
      });
    });

    describe('concurrency', () => {
      it('parallel puts and deletes in one directory leave exactly the expected objects', async () => {
        const dir = `tmp/${SUBJECT}/job-concurrent/`;
        const first = Array.from({ length: 40 }, (_, i) => `${dir}a-${String(i).padStart(2, '0')}`);
        const second = Array.from({ length: 40 }, (_, i) => `${dir}b-${String(i).padStart(2, '0')}`);
        await inParallel(first, 8, (key) => storage.put(key, Buffer.from(key)));
        await Promise.all([
          inParallel(first, 8, (key) => storage.delete(key)),
          inParallel(second, 8, (key) => storage.put(key, Buffer.from(key))),
        ]);
        expect(await collectKeys(storage.list(dir))).toEqual(second);
        for (const key of second) expect((await storage.get(key)).toString()).toBe(key);
      });
    });

    describe('lifecycle and health', () => {
      it('ensureLifecycleRules answers a boolean', async () => {
        const result = await storage.ensureLifecycleRules([{ id: 'contract-tmp-expiry', prefix: 'tmp/', days: 1 }]);
        expect(typeof result).toBe('boolean');
      });

      it('checkHealth resolves on a working storage', async () => {
        await expect(storage.checkHealth()).resolves.toBeUndefined();
        expect(await collect(storage.list(''))).toEqual([]);
      });
    });
  });
}
