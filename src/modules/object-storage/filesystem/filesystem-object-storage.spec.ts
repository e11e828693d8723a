import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidObjectKeyError,
  type ObjectInfo,
  ObjectNotFoundError,
  ObjectStorageUnavailableError,
} from '../object-storage.port';
import { FilesystemObjectStorage, ObjectKeyConflictError } from './filesystem-object-storage';

async function keysOf(iterable: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of iterable) keys.push(info.key);
  return keys;
}

describe('FilesystemObjectStorage', () => {
  let dir: string;
  let root: string;
  let storage: FilesystemObjectStorage;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-object-storage-'));
    root = join(dir, 'objects');
    storage = new FilesystemObjectStorage({ root });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is of kind 'filesystem' and has no lifecycle mechanism", async () => {
    expect(storage.kind).toBe('filesystem');
    expect(await storage.ensureLifecycleRules([{ id: 'tmp', prefix: 'tmp/', days: 1 }])).toBe(false);
  });

  it('stores each object as a private file at <root>/<key>, with no temp file left behind', async () => {
    await storage.put('originals/s1/img', Buffer.from('bytes'));
    const file = join(root, 'originals', 's1', 'img');
    expect((await stat(file)).size).toBe(5);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'originals'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(root, 'originals', 's1'))).toEqual(['img']);
  });

  describe('atomicity', () => {
    it('a reader never sees a partial object while it is overwritten', async () => {
      const key = 'originals/s1/big';
      const oldBody = Buffer.alloc(8 * 1024 * 1024, 1);
      const newBody = Buffer.alloc(8 * 1024 * 1024, 2);
      await storage.put(key, oldBody);

      let done = false;
      const writer = (async () => {
        for (let i = 0; i < 4; i++) await storage.put(key, i % 2 === 0 ? newBody : oldBody);
        done = true;
      })();
      let reads = 0;
      while (!done) {
        const read = await storage.get(key);
        expect(read.length).toBe(oldBody.length);
        expect(read.equals(oldBody) || read.equals(newBody)).toBe(true);
        const info = await storage.head(key);
        expect(info!.size).toBe(oldBody.length);
        reads++;
      }
      await writer;
      expect(reads).toBeGreaterThan(0);
    });

    it('a new object is invisible until its write completes (no partial size, no listing)', async () => {
      const key = 'originals/s1/new';
      const body = randomBytes(4 * 1024 * 1024);
      let done = false;
      const writer = storage.put(key, body).then(() => {
        done = true;
      });
      while (!done) {
        const info = await storage.head(key);
        if (info !== null) expect(info.size).toBe(body.length);
        for (const listed of await keysOf(storage.list('originals/'))) expect(listed).toBe(key);
      }
      await writer;
      expect((await storage.get(key)).equals(body)).toBe(true);
    });

    it('a leftover temp file (crash mid-write) is not an object: not listed, not readable', async () => {
      await storage.put('originals/s1/a', Buffer.from('a'));
      const sub = join(root, 'originals', 's1');
      await writeFile(join(sub, '.b.0123456789abcdef.tmp'), 'partial');
      await writeFile(join(root, '.stray.tmp'), 'partial');
      await mkdir(join(root, '.hidden-dir'));
      await writeFile(join(root, '.hidden-dir', 'x'), 'x');

      expect(await keysOf(storage.list(''))).toEqual(['originals/s1/a']);
      await expect(storage.get('originals/s1/b')).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await storage.head('originals/s1/b')).toBeNull();
    });
  });

  describe('delete', () => {
    it('removes parent directories left empty, up to but not including the root', async () => {
      await storage.put('tmp/s1/job1/a', Buffer.from('a'));
      await storage.put('tmp/s1/job2/b', Buffer.from('b'));
      await storage.delete('tmp/s1/job1/a');
      expect(await readdir(join(root, 'tmp', 's1'))).toEqual(['job2']);

      await storage.delete('tmp/s1/job2/b');
      expect(await readdir(root)).toEqual([]);
      expect((await stat(root)).isDirectory()).toBe(true);
    });

    it('deleteMany clears a whole job directory tree', async () => {
      const keys = ['tmp/s1/job/a', 'tmp/s1/job/b', 'tmp/s1/job/sub/c', 'tmp/s1/job/sub/deeper/d', 'tmp/s1/other/e'];
      for (const key of keys) await storage.put(key, Buffer.from(key));
      await storage.put('originals/s1/keep', Buffer.from('keep'));
      await storage.deleteMany(keys);
      expect(await readdir(root)).toEqual(['originals']);
    });
  });

  describe('keys and the filesystem', () => {
    it('refuses a key nested under an existing object, and an object over a directory of objects', async () => {
      await storage.put('originals/s1/a', Buffer.from('a'));
      await expect(storage.put('originals/s1/a/b', Buffer.from('b'))).rejects.toBeInstanceOf(ObjectKeyConflictError);
      await expect(storage.put('originals/s1', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidObjectKeyError);
      expect((await storage.get('originals/s1/a')).toString()).toBe('a');
      await expect(storage.get('originals/s1/a/b')).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(storage.get('originals/s1')).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await storage.head('originals/s1')).toBeNull();
      await expect(storage.delete('originals/s1/a/b')).resolves.toBeUndefined();
      await expect(storage.delete('originals/s1')).resolves.toBeUndefined();
      expect(await keysOf(storage.list(''))).toEqual(['originals/s1/a']);
      expect(await readdir(join(root, 'originals', 's1'))).toEqual(['a']);
    });

    it('accepts a relative root and resolves it once', async () => {
      const relative = new FilesystemObjectStorage({ root: join(dir, 'x', '..', 'rel') });
      await relative.put('a/b', Buffer.from('1'));
      expect((await stat(join(dir, 'rel', 'a', 'b'))).isFile()).toBe(true);
    });

    it('requires a root', () => {
      expect(() => new FilesystemObjectStorage({ root: '' })).toThrow(/root/);
    });

    it('lists nothing, and finds nothing, before the root exists', async () => {
      expect(await keysOf(storage.list(''))).toEqual([]);
      expect(await storage.head('a')).toBeNull();
      await expect(storage.get('a')).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(storage.delete('a')).resolves.toBeUndefined();
    });
  });

  describe('failures', () => {
    it('checkHealth creates the root, probes it and leaves nothing behind', async () => {
      await storage.checkHealth();
      expect(await readdir(root)).toEqual([]);
    });

    it('a root that is not a directory makes the storage unavailable, not "not found"', async () => {
      await writeFile(root, 'not a directory');
      await expect(storage.checkHealth()).rejects.toBeInstanceOf(ObjectStorageUnavailableError);
      const putError = await storage.put('a/b', Buffer.from('x')).catch((e: unknown) => e);
      expect(putError).toBeInstanceOf(ObjectStorageUnavailableError);
      expect((putError as ObjectStorageUnavailableError).code).toBe('OBJECT_STORAGE_UNAVAILABLE');
      expect((putError as Error).message).toMatch(/ENOTDIR|EEXIST/);
      await expect(storage.get('a/b')).rejects.toBeInstanceOf(ObjectStorageUnavailableError);
      await expect(storage.head('a/b')).rejects.toBeInstanceOf(ObjectStorageUnavailableError);
      await expect(storage.delete('a/b')).rejects.toBeInstanceOf(ObjectStorageUnavailableError);
      await expect(keysOf(storage.list('a/'))).rejects.toBeInstanceOf(ObjectStorageUnavailableError);
    });

    it.skipIf(process.getuid?.() === 0)('an unwritable root fails with ObjectStorageUnavailableError (EACCES)', async () => {
      await mkdir(root, { mode: 0o500 });
      const error = await storage.put('a/b', Buffer.from('x')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ObjectStorageUnavailableError);
      expect((error as Error).message).toMatch(/EACCES/);
      await expect(storage.checkHealth()).rejects.toBeInstanceOf(ObjectStorageUnavailableError);
    });
  });
  describe('writes interrupted by a crash', () => {
    /** What a put killed between creating its temp file and the rename leaves: `.<name>.<16 hex>.tmp`. */
    async function interruptedPut(key: string, ageMs: number): Promise<string> {
      const parts = key.split('/');
      const directory = join(root, ...parts.slice(0, -1));
      await mkdir(directory, { recursive: true });
      const file = join(directory, `.${parts[parts.length - 1]}.${randomBytes(8).toString('hex')}.tmp`);
      await writeFile(file, randomBytes(64));
      const at = new Date(Date.now() - ageMs);
      await utimes(file, at, at);
      return file;
    }

    it('removeAbandonedWrites removes the partial files under the prefix older than the cutoff, never an object, and the directories left empty', async () => {
      await storage.put('originals/s1/img-1', Buffer.from('kept'));
      const old = await interruptedPut('originals/s1/img-2', 60_000);
      const alone = await interruptedPut('originals/s2/img-3', 60_000);
      const young = await interruptedPut('originals/s1/img-4', 0);
      const elsewhere = await interruptedPut('artworks/s1/art-1', 60_000);
      expect(await keysOf(storage.list('originals/'))).toEqual(['originals/s1/img-1']);

      const cutoff = new Date(Date.now() - 10_000);
      expect(await storage.removeAbandonedWrites('originals/s', cutoff)).toBe(2);
      const exists = async (file: string) => stat(file).then(() => true, () => false);
      expect(await exists(old)).toBe(false);
      expect(await exists(alone)).toBe(false);
      expect(await exists(join(root, 'originals', 's2'))).toBe(false); // emptied: removed
      expect(await exists(young)).toBe(true); // may be a put in progress
      expect(await exists(elsewhere)).toBe(true); // another prefix
      expect((await storage.get('originals/s1/img-1')).toString()).toBe('kept');
      expect(await storage.removeAbandonedWrites('originals/s', cutoff)).toBe(0);
      expect(await storage.removeAbandonedWrites('artworks/', cutoff)).toBe(1);
      expect(await storage.removeAbandonedWrites('tmp/', cutoff)).toBe(0); // nothing there at all
    });

    it('a prefix with a partial last segment matches the names the partial files were to become', async () => {
      const match = await interruptedPut('tmp/s1/job-1/input', 60_000);
      const other = await interruptedPut('tmp/s1/job-2/input', 60_000);
      expect(await storage.removeAbandonedWrites('tmp/s1/job-1', new Date())).toBe(1);
      expect(await stat(match).then(() => true, () => false)).toBe(false);
      expect(await stat(other).then(() => true, () => false)).toBe(true);
    });
  });
});
