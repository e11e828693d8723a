import { randomBytes } from 'node:crypto';
import { Clock, SystemClock } from '../clock/clock.port';
import { KEY_LENGTH } from './aes-gcm';
import {
  DecryptionFailedError,
  InvalidSubjectIdError,
  KeyStoreUnavailableError,
  SubjectKeyDestroyedError,
  UnknownMasterKeyError,
} from './crypto.errors';
import { decryptBytes, encryptBytes } from './envelope-cipher';
import { KeyStore, DATA_KEY_ALGORITHM } from './key-store.port';
import { LruCache } from './lru-cache';
import type { MasterKey } from './master-key';

export interface KeyStoreOptions {
  /** Wraps every new data key. */
  readonly masterKey: MasterKey;
  /** Older master keys, to unwrap data keys wrapped before a rotation. */
  readonly previousMasterKeys?: readonly MasterKey[];
  /** How many subjects' unwrapped keys (or destroyed markers) stay in memory. Default 10,000. */
  readonly cacheSize?: number;
  readonly clock?: Clock;
}

/** A data key as stored: wrapped by a master key (AES-256-GCM envelope, AAD = subject id). */
export interface WrappedKeyRecord {
  readonly wrappedKey: Buffer;
  readonly masterKeyId: string;
  readonly algorithm: string;
}

/** What a store answers for a subject that had its key destroyed. */
export const DESTROYED: unique symbol = Symbol('subject key destroyed');
export type Destroyed = typeof DESTROYED;

type Loaded = Buffer | Destroyed | null;

export const DEFAULT_KEY_CACHE_SIZE = 10_000;

const SUBJECT_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function assertSubjectId(subjectId: string): void {
  if (typeof subjectId !== 'string' || !SUBJECT_ID.test(subjectId)) throw new InvalidSubjectIdError();
}

/**
 * The behaviour both adapters share: wrapping under the master key, the bounded LRU of unwrapped
 * keys (a destroyed marker is cached too: destruction is permanent), single-flight loads, and the
 * rule that a load racing with `destroy`/`forget` never puts a key back into the cache.
 * Adapters only persist wrapped records.
 */
export abstract class CachingKeyStore extends KeyStore {
  protected readonly clock: Clock;
  private readonly currentMasterKey: MasterKey;
  private readonly masterKeys = new Map<string, Buffer>();
  private readonly cache: LruCache<string, Buffer | Destroyed>;
  private readonly loading = new Map<string, Promise<Loaded>>();
  private readonly creating = new Map<string, Promise<Loaded>>();
  /** Bumped by destroy/forget: a load that started before must not cache what it read. */
  private invalidations = 0;
  private closed = false;

  protected constructor(options: KeyStoreOptions) {
    super();
    this.clock = options.clock ?? new SystemClock();
    this.currentMasterKey = options.masterKey;
    for (const master of [options.masterKey, ...(options.previousMasterKeys ?? [])]) {
      if (master.key.length !== KEY_LENGTH) throw new RangeError(`Master key ${master.keyId} is not ${KEY_LENGTH} bytes`);
      if (!this.masterKeys.has(master.keyId)) this.masterKeys.set(master.keyId, master.key);
    }
    this.cache = new LruCache(options.cacheSize ?? DEFAULT_KEY_CACHE_SIZE);
  }

  /** The stored record, DESTROYED, or null when the subject never had a key. */
  protected abstract readWrapped(subjectId: string): Promise<WrappedKeyRecord | Destroyed | null>;

  /**
   * Stores `record` unless the subject already has a key or was destroyed, atomically with respect
   * to every other instance, and answers what is stored afterwards (another instance's key when it
   * won the race).
   */
  protected abstract insertWrapped(subjectId: string, record: WrappedKeyRecord): Promise<WrappedKeyRecord | Destroyed>;

  /** Removes the wrapped key for good and leaves a marker so that no new key is ever created. */
  protected abstract destroyWrapped(subjectId: string): Promise<void>;

  protected abstract checkStoreHealth(): Promise<void>;

  protected abstract closeStore(): Promise<void>;

  async getOrCreate(subjectId: string): Promise<Buffer> {
    this.assertUsable(subjectId);
    const cached = this.cache.get(subjectId);
    if (cached === DESTROYED) throw new SubjectKeyDestroyedError(subjectId);
    if (cached) return cached;
    const loaded = await this.singleFlight(this.creating, subjectId, async () => {
      const found = await this.readWrapped(subjectId);
      if (found !== null) return this.toLoaded(subjectId, found);
      const stored = await this.insertWrapped(subjectId, this.wrap(subjectId, randomBytes(KEY_LENGTH)));
      // Unwrap what is stored rather than returning our fresh key: another instance may have won.
      return this.toLoaded(subjectId, stored);
    });
    if (loaded === DESTROYED) throw new SubjectKeyDestroyedError(subjectId);
    if (loaded === null) throw new KeyStoreUnavailableError(`The data key of subject ${subjectId} could not be created`);
    return loaded;
  }

  async get(subjectId: string): Promise<Buffer | null> {
    this.assertUsable(subjectId);
    const cached = this.cache.get(subjectId);
    if (cached === DESTROYED) return null;
    if (cached) return cached;
    const loaded = await this.singleFlight(this.loading, subjectId, async () => {
      const found = await this.readWrapped(subjectId);
      return found === null ? null : this.toLoaded(subjectId, found);
    });
    return loaded === DESTROYED ? null : loaded;
  }

  async destroy(subjectId: string): Promise<void> {
    this.assertUsable(subjectId);
    this.invalidate(subjectId);
    await this.destroyWrapped(subjectId);
    this.invalidate(subjectId);
    this.cache.set(subjectId, DESTROYED);
  }

  async isDestroyed(subjectId: string): Promise<boolean> {
    this.assertUsable(subjectId);
    if (this.cache.get(subjectId) === DESTROYED) return true;
    const found = await this.readWrapped(subjectId);
    if (found !== DESTROYED) return false;
    this.cache.set(subjectId, DESTROYED);
    return true;
  }

  forget(subjectId: string): void {
    this.invalidate(subjectId);
  }

  async checkHealth(): Promise<void> {
    if (this.closed) throw new KeyStoreUnavailableError('The key store is closed');
    await this.checkStoreHealth();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    this.loading.clear();
    this.creating.clear();
    await this.closeStore();
  }

  protected get isClosed(): boolean {
    return this.closed;
  }

  /** Wraps a data key under the current master key. */
  protected wrap(subjectId: string, dataKey: Buffer): WrappedKeyRecord {
    return {
      wrappedKey: encryptBytes(this.currentMasterKey.key, dataKey, subjectId),
      masterKeyId: this.currentMasterKey.keyId,
      algorithm: DATA_KEY_ALGORITHM,
    };
  }

  protected unwrap(subjectId: string, record: WrappedKeyRecord): Buffer {
    if (record.algorithm !== DATA_KEY_ALGORITHM) {
      throw new DecryptionFailedError(`Unsupported data key algorithm for subject ${subjectId}`);
    }
    const master = this.masterKeys.get(record.masterKeyId);
    if (!master) throw new UnknownMasterKeyError(subjectId, record.masterKeyId);
    const dataKey = decryptBytes(master, record.wrappedKey, subjectId);
    if (dataKey.length !== KEY_LENGTH) throw new DecryptionFailedError(`The data key of subject ${subjectId} is malformed`);
    return dataKey;
  }

  private toLoaded(subjectId: string, found: WrappedKeyRecord | Destroyed): Buffer | Destroyed {
    return found === DESTROYED ? DESTROYED : this.unwrap(subjectId, found);
  }

  private assertUsable(subjectId: string): void {
    if (this.closed) throw new KeyStoreUnavailableError('The key store is closed');
    assertSubjectId(subjectId);
  }

  private invalidate(subjectId: string): void {
    this.invalidations += 1;
    this.cache.delete(subjectId);
    this.loading.delete(subjectId);
    this.creating.delete(subjectId);
  }

  /** One load per subject at a time; the result is cached unless destroy/forget happened meanwhile. */
  private singleFlight(pending: Map<string, Promise<Loaded>>, subjectId: string, load: () => Promise<Loaded>): Promise<Loaded> {
    const inFlight = pending.get(subjectId);
    if (inFlight) return inFlight;
    const epoch = this.invalidations;
    const promise: Promise<Loaded> = load()
      .then((value) => {
        if (!this.closed && (value === DESTROYED || (value !== null && epoch === this.invalidations))) {
          this.cache.set(subjectId, value);
        }
        return value;
      })
      .finally(() => {
        if (pending.get(subjectId) === promise) pending.delete(subjectId);
      });
    pending.set(subjectId, promise);
    return promise;
  }
}
