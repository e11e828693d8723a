import { eachBounded } from '../../../common/async/each-bounded';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsync as fsyncCallback, openSync, readFile as readFileCallback, readSync, renameSync, unlinkSync, write as writeCallback, writeSync, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { assertValidObjectKeyPrefix } from '../object-key-prefix';
import {
  assertValidObjectKey,
  InvalidObjectKeyError,
  type LifecycleRule,
  type ObjectInfo,
  ObjectNotFoundError,
  ObjectStorage,
  ObjectStorageUnavailableError,
  type PutObjectOptions,
} from '../object-storage.port';

export interface FilesystemObjectStorageOptions {
  /** Directory holding the objects (the service passes `DATA_DIR/objects`). Created on demand. */
  readonly root: string;
}

/**
 * A key cannot be stored because the filesystem already holds another object on its path: an
 * object `a` and an object `a/b` cannot coexist as a file and a directory. The key scheme of the
 * service never nests objects; this only guards against misuse.
 */
export class ObjectKeyConflictError extends InvalidObjectKeyError {
  constructor(key: string) {
    super(key);
    this.message = 'Object key conflicts with an existing object on the filesystem';
    this.name = 'ObjectKeyConflictError';
  }
}

/** File-system calls a batch operation keeps in flight (libuv's thread pool runs them; see src/threadpool.ts). */
const PARALLEL_FS_CALLS = 32;
/** Names of in-flight writes start with '.', which no key segment may, so they never look like objects. */
const TEMP_SUFFIX = '.tmp';
/** `.<name>.<16 hex>.tmp`: the temp file of a put of `<name>` in the same directory. */
const TEMP_FILE = /^\.(.+)\.[0-9a-f]{16}\.tmp$/;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** How often `put` recreates its directory when a concurrent `delete` removed it in between. */
const PUT_DIRECTORY_ATTEMPTS = 5;

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * ObjectStorage on the local filesystem: one file per object at `<root>/<key>`.
 *
 * - `put` writes a temp file in the target directory, fsyncs it, renames it over the target and
 *   fsyncs the directory: readers see the old object, none, or the whole new one, and an
 *   acknowledged put survives a crash.
 * - `delete` unlinks, fsyncs the directory (a deletion is a compliance fact, it must stick) and
 *   removes parent directories left empty, up to (not including) the root.
 * - `list` walks one directory at a time, in key order, and skips temp files and foreign names.
 * - Not-found conditions become ObjectNotFoundError / null / success; every other filesystem
 *   failure (EACCES, ENOSPC, EIO, EROFS …) becomes ObjectStorageUnavailableError.
 *
 * Thread-pool hops are what the hot paths cost: each async fs call is a round trip through
 * libuv's pool (a wake-up of a pool thread, then of the event loop), and on a virtual machine
 * those wake-ups cost far more than the calls (measured with perf under the content-read load:
 * ~30% of the service's CPU was spent switching threads, with fs.readFile's four hops per read).
 * So the calls that only touch the page cache or metadata run inline, for objects up to
 * INLINE_IO_MAX_BYTES: `get` (open, fstat, read, close: tens of microseconds for a 50 KiB image)
 * and in `put` the open, write, close and rename. Only the waits for the disk, the fsyncs of the
 * file and of its directory, go to the pool: two hops per put instead of nine, and none for a read
 * instead of four. Larger objects are read and written on the pool (a 10 MiB copy would hold the
 * event loop for milliseconds).
 */
export class FilesystemObjectStorage extends ObjectStorage {
  readonly kind = 'filesystem';
  private readonly root: string;

  constructor(options: FilesystemObjectStorageOptions) {
    super();
    if (!options.root) throw new Error('FilesystemObjectStorage: root directory is required');
    this.root = path.resolve(options.root);
  }

  async put(key: string, body: Buffer, _options?: PutObjectOptions): Promise<void> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    const temp = path.join(dir, `.${path.basename(target)}.${tempTag()}${TEMP_SUFFIX}`);
    try {
      await this.writeTempFile(dir, temp, body);
      try {
        renameSync(temp, target);
      } catch (err) {
        unlinkQuietly(temp);
        throw err;
      }
      await fsyncDirectory(dir);
    } catch (err) {
      throw await this.putFailure(key, err);
    }
  }

  async get(key: string): Promise<Buffer> {
    const file = this.pathOf(key);
    try {
      return readSmallFileInline(file) ?? (await readWholeFile(file));
    } catch (err) {
      if (await this.isMissing(err)) throw new ObjectNotFoundError(key);
      throw unavailable('get', err);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const file = this.pathOf(key);
    try {
      const stats = await stat(file);
      if (!stats.isFile()) return null;
      return { key, size: stats.size, lastModified: stats.mtime };
    } catch (err) {
      if (await this.isMissing(err)) return null;
      throw unavailable('head', err);
    }
  }

  async delete(key: string): Promise<void> {
    const dir = await this.unlinkObject(key);
    if (dir !== null) await this.settleDirectories([dir]);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertValidObjectKey(key);
    const touched = new Set<string>();
    let failure: unknown;
    try {
      // Unlinks in parallel (each is a thread-pool call); the directories are synced once each below.
      await eachBounded([...new Set(keys)], PARALLEL_FS_CALLS, async (key) => {
        const dir = await this.unlinkObject(key);
        if (dir !== null) touched.add(dir);
      });
    } catch (err) {
      failure = err;
    }
    // Settle what was deleted even when a later key failed: those deletions must stick.
    await this.settleDirectories([...touched]).catch((err: unknown) => {
      failure ??= err;
    });
    if (failure !== undefined) throw failure;
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    // Validated on the first `next()`: the generator body does nothing until it is iterated.
    return this.walkPrefix(prefix);
  }

  async ensureLifecycleRules(_rules: readonly LifecycleRule[]): Promise<boolean> {
    return false;
  }

  /**
   * A put killed between creating its temp file and renaming it (SIGKILL, power loss) leaves the
   * temp file: encrypted object bytes that are no object, which `list` never shows and nothing else
   * would remove. Removes those under `prefix` whose last change is older than `olderThan` (a put
   * in progress is far younger), and the directories they leave empty.
   */
  override async removeAbandonedWrites(prefix: string, olderThan: Date): Promise<number> {
    assertValidObjectKeyPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const abandoned: string[] = [];
    await this.findAbandoned(slash >= 0 ? prefix.slice(0, slash) : '', prefix.slice(slash + 1), olderThan.getTime(), abandoned);
    const touched = new Set<string>();
    let removed = 0;
    for (const file of abandoned) {
      try {
        await unlink(file);
        touched.add(path.dirname(file));
        removed++;
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw unavailable('remove abandoned writes', err);
      }
    }
    await this.settleDirectories([...touched]);
    return removed;
  }

  async checkHealth(): Promise<void> {
    const probe = path.join(this.root, `.health.${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`);
    try {
      await mkdir(this.root, { recursive: true, mode: DIR_MODE });
      const handle = await open(probe, 'wx', FILE_MODE);
      try {
        await handle.writeFile(Buffer.from([0]));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await unlink(probe);
    } catch (err) {
      await unlink(probe).catch(() => undefined);
      throw unavailable('health check', err);
    }
  }

  /** Absolute path of a key's file; refuses invalid keys and anything resolving outside the root. */
  private pathOf(key: string): string {
    assertValidObjectKey(key);
    const file = path.join(this.root, ...key.split('/'));
    if (!file.startsWith(this.root + path.sep)) throw new InvalidObjectKeyError(key);
    return file;
  }

  private async writeTempFile(dir: string, temp: string, body: Buffer): Promise<void> {
    const fd = await this.openTempFile(dir, temp);
    try {
      if (body.length <= INLINE_IO_MAX_BYTES) {
        for (let written = 0; written < body.length; ) written += writeSync(fd, body, written, body.length - written);
      } else {
        for (let written = 0; written < body.length; ) written += await writeFd(fd, body, written);
      }
      await fsyncFd(fd);
    } catch (err) {
      closeQuietly(fd);
      unlinkQuietly(temp);
      throw err;
    }
    closeSync(fd);
  }

  /** Creates the temp file (exclusively), making its directories first when they are missing. */
  private async openTempFile(dir: string, temp: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return openSync(temp, 'wx', FILE_MODE);
      } catch (err) {
        // Missing directories, or a concurrent delete removed them (then empty) since the last attempt.
        if (errorCode(err) !== 'ENOENT' || attempt >= PUT_DIRECTORY_ATTEMPTS) throw err;
      }
      const created = await mkdir(dir, { recursive: true, mode: DIR_MODE });
      if (created !== undefined) await fsyncNewDirectories(created, dir);
    }
  }

  private async putFailure(key: string, err: unknown): Promise<Error> {
    const code = errorCode(err);
    // ENOTDIR / EEXIST (from mkdir): an ancestor of the key is an object file;
    // EISDIR (from rename): the key is a directory holding other objects.
    if ((code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') && (await this.rootIsDirectory())) {
      return new ObjectKeyConflictError(key);
    }
    return unavailable('put', err);
  }

  /** Not-found, unless the root itself is gone bad (then the storage, not the object, is the problem). */
  private async isMissing(err: unknown): Promise<boolean> {
    const code = errorCode(err);
    if (code === undefined || !MISSING_CODES.has(code)) return false;
    if (code === 'ENOENT') return true;
    return this.rootIsDirectory();
  }

  private async rootIsDirectory(): Promise<boolean> {
    try {
      return (await stat(this.root)).isDirectory();
    } catch (err) {
      return errorCode(err) === 'ENOENT';
    }
  }

  /** Unlinks a key's file; answers its directory, or null when there was nothing to delete. */
  private async unlinkObject(key: string): Promise<string | null> {
    const file = this.pathOf(key);
    try {
      await unlink(file);
      return path.dirname(file);
    } catch (err) {
      if (await this.isMissing(err)) return null;
      throw unavailable('delete', err);
    }
  }

  /**
   * After unlinks: removes the directories left empty (deepest first, never the root) and fsyncs
   * each directory that lost an entry, once, so the deletions are durable.
   */
  private async settleDirectories(dirs: readonly string[]): Promise<void> {
    const depth = (dir: string) => dir.split(path.sep).length;
    const toSync = new Set<string>();
    try {
      // Deepest first, one depth at a time (in parallel within a depth: they are siblings or cousins).
      const byDepth = new Map<number, string[]>();
      for (const dir of new Set(dirs)) byDepth.set(depth(dir), [...(byDepth.get(depth(dir)) ?? []), dir]);
      for (const level of [...byDepth.keys()].sort((a, b) => b - a)) {
        await eachBounded(byDepth.get(level) as string[], PARALLEL_FS_CALLS, async (dir) => {
          toSync.add(await this.removeEmptyParents(dir));
        });
      }
      // A directory emptied later is gone (ENOENT); the ancestor its removal reached is synced too.
      // Concurrent fsyncs on one file system are committed together by its journal.
      await eachBounded([...toSync], PARALLEL_FS_CALLS, (dir) =>
        fsyncDirectory(dir).catch((err: unknown) => {
          if (errorCode(err) !== 'ENOENT') throw err;
        }),
      );
    } catch (err) {
      throw unavailable('delete', err);
    }
  }

  /** Removes `dir` and its ancestors while they are empty, never the root; answers the first one left. */
  private async removeEmptyParents(dir: string): Promise<string> {
    let current = dir;
    while (current !== this.root && current.startsWith(this.root + path.sep)) {
      try {
        await rmdir(current);
      } catch (err) {
        const code = errorCode(err);
        if (code === 'ENOTEMPTY' || code === 'EEXIST') return current;
        if (code !== 'ENOENT') throw err;
      }
      current = path.dirname(current);
    }
    return this.root;
  }

  private dirOf(dirKey: string): string {
    return dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/'));
  }

  /** A directory's entries; null when it does not exist. */
  private async entriesOf(dir: string, operation: string): Promise<Dirent[] | null> {
    try {
      return await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (await this.isMissing(err)) return null;
      throw unavailable(operation, err);
    }
  }

  /** Temp files under `dirKey` (those of keys starting with `namePrefix` at the first level) changed before `cutoffMs`. */
  private async findAbandoned(dirKey: string, namePrefix: string, cutoffMs: number, out: string[]): Promise<void> {
    const dir = this.dirOf(dirKey);
    const entries = await this.entriesOf(dir, 'remove abandoned writes');
    for (const entry of entries ?? []) {
      if (entry.isDirectory() && SEGMENT.test(entry.name) && entry.name.startsWith(namePrefix)) {
        await this.findAbandoned(dirKey === '' ? entry.name : `${dirKey}/${entry.name}`, '', cutoffMs, out);
        continue;
      }
      const temp = TEMP_FILE.exec(entry.name);
      if (!entry.isFile() || !temp || !temp[1].startsWith(namePrefix)) continue;
      const file = path.join(dir, entry.name);
      try {
        if ((await stat(file)).mtimeMs <= cutoffMs) out.push(file);
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw unavailable('remove abandoned writes', err);
      }
    }
  }

  private async *walkPrefix(prefix: string): AsyncGenerator<ObjectInfo> {
    assertValidObjectKeyPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    yield* this.walk(dirKey, prefix.slice(slash + 1));
  }

  /** Depth-first, children sorted so that keys come out in byte order ('a-b' < 'a/x' < 'a0'). */
  private async *walk(dirKey: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
    const dir = this.dirOf(dirKey);
    const entries = await this.entriesOf(dir, 'list');
    if (entries === null) return;
    const children = entries
      .filter((e) => SEGMENT.test(e.name) && e.name.startsWith(namePrefix) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ name: e.name, isDirectory: e.isDirectory(), order: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    for (const child of children) {
      const key = dirKey === '' ? child.name : `${dirKey}/${child.name}`;
      if (child.isDirectory) {
        yield* this.walk(key, '');
        continue;
      }
      let info: ObjectInfo;
      try {
        const stats = await stat(path.join(dir, child.name));
        if (!stats.isFile()) continue;
        info = { key, size: stats.size, lastModified: stats.mtime };
      } catch (err) {
        if (await this.isMissing(err)) continue; // deleted while listing
        throw unavailable('list', err);
      }
      yield info;
    }
  }
}

/**
 * The whole file on the thread pool, for objects over INLINE_IO_MAX_BYTES: through the callback
 * API, about half the CPU of `fs.promises.readFile` (no FileHandle objects and their close tracking).
 */
function readWholeFile(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => readFileCallback(file, (err, data) => (err ? reject(err) : resolve(data))));
}

function unavailable(operation: string, err: unknown): ObjectStorageUnavailableError {
  const code = errorCode(err) ?? 'unknown error';
  return new ObjectStorageUnavailableError(`Filesystem object storage: ${operation} failed (${code})`, err);
}

async function fsyncDirectory(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** One write on the thread pool (for objects larger than INLINE_IO_MAX_BYTES): the bytes written. */
function writeFd(fd: number, body: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => writeCallback(fd, body, offset, body.length - offset, null, (err, written) => (err ? reject(err) : resolve(written))));
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsyncCallback(fd, (err) => (err ? reject(err) : resolve())));
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already failed: the caller reports the first error.
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Best effort: a leftover temp file is removed by the orphan sweep (removeAbandonedWrites).
  }
}

/**
 * The 16 hex digits of a temp file name (TEMP_FILE): 8 random per process, 8 of a counter per
 * write (no random draw per put; two processes collide only if their random halves match).
 */
const PROCESS_TAG = randomBytes(4).toString('hex');
let tempCounter = 0;
function tempTag(): string {
  tempCounter = (tempCounter + 1) >>> 0;
  return `${PROCESS_TAG}${tempCounter.toString(16).padStart(8, '0')}`;
}

/** Objects up to this size are read and written inline (see the class comment); larger ones on the thread pool. */
const INLINE_IO_MAX_BYTES = 1024 * 1024;

/** The whole file read inline, or null when it is larger than INLINE_IO_MAX_BYTES (nothing read then). */
function readSmallFileInline(file: string): Buffer | null {
  const fd = openSync(file, 'r');
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${file}'`), { code: 'EISDIR' });
    if (stats.size > INLINE_IO_MAX_BYTES) return null;
    const buffer = Buffer.allocUnsafe(stats.size);
    let offset = 0;
    while (offset < stats.size) {
      const n = readSync(fd, buffer, offset, stats.size - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return offset === stats.size ? buffer : buffer.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

/** `mkdir -p` created `first` … `last`: make their entries durable in their parents. */
async function fsyncNewDirectories(first: string, last: string): Promise<void> {
  let current = last;
  for (;;) {
    await fsyncDirectory(path.dirname(current));
    if (current === first) return;
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}
