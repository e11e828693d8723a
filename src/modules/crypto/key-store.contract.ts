import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CachingKeyStore, KeyStoreOptions } from './caching-key-store';
import {
  InvalidSubjectIdError,
  KeyStoreUnavailableError,
  SubjectKeyDestroyedError,
  UnknownMasterKeyError,
} from './crypto.errors';
import { masterKeyFromBytes, type MasterKey } from './master-key';

/** One shared backend (a file, an event store) on which the suite opens as many instances as it likes. */
export interface KeyStoreBackend {
  open(options: KeyStoreOptions): CachingKeyStore;
  dispose(): Promise<void>;
}

/** The KeyStore contract, run against every adapter. */
export function keyStoreContract(adapter: string, createBackend: () => Promise<KeyStoreBackend>): void {
  describe(`KeyStore contract: ${adapter}`, () => {
    let backend: KeyStoreBackend;
    let opened: CachingKeyStore[];
    let master: MasterKey;

    const open = (options: Partial<KeyStoreOptions> = {}): CachingKeyStore => {
      const store = backend.open({ masterKey: master, ...options });
      opened.push(store);
      return store;
    };
    /** Spies on the adapter's store read (protected): how often the cache missed. */
    const countReads = (store: CachingKeyStore) =>
      vi.spyOn(store as unknown as { readWrapped: (subjectId: string) => Promise<unknown> }, 'readWrapped');

    beforeEach(async () => {
      backend = await createBackend();
      opened = [];
      master = masterKeyFromBytes(randomBytes(32));
    });

    afterEach(async () => {
      for (const store of opened) await store.close();
      await backend.dispose();
    });

    it('creates a 32-byte key on first use and answers the same key afterwards, on every instance', async () => {
      const a = open();
      const subject = randomUUID();
      expect(await a.get(subject)).toBeNull();
      const key = await a.getOrCreate(subject);
      expect(key.length).toBe(32);
      expect((await a.getOrCreate(subject)).equals(key)).toBe(true);
      expect((await a.get(subject))?.equals(key)).toBe(true);

      const b = open();
      expect((await b.get(subject))?.equals(key)).toBe(true);
      expect((await b.getOrCreate(subject)).equals(key)).toBe(true);
      expect(await b.isDestroyed(subject)).toBe(false);
    });

    it('gives every subject its own key', async () => {
      const store = open();
      const keys = await Promise.all(Array.from({ length: 20 }, () => store.getOrCreate(randomUUID())));
      expect(new Set(keys.map((key) => key.toString('hex'))).size).toBe(20);
    });

    it('destroys a key for good: get is null, isDestroyed is true, getOrCreate throws, destroy is idempotent', async () => {
      const store = open();
      const subject = randomUUID();
      await store.getOrCreate(subject);
      await store.destroy(subject);
      expect(await store.get(subject)).toBeNull();
      expect(await store.isDestroyed(subject)).toBe(true);
      await expect(store.getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
      await expect(store.getOrCreate(subject)).rejects.toMatchObject({ code: 'SUBJECT_KEY_DESTROYED', subjectId: subject });
      await store.destroy(subject);
      expect(await store.isDestroyed(subject)).toBe(true);

      const fresh = open();
      expect(await fresh.get(subject)).toBeNull();
      expect(await fresh.isDestroyed(subject)).toBe(true);
      await expect(fresh.getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    });

    it('never creates a key for a subject destroyed before it had one', async () => {
      const store = open();
      const subject = randomUUID();
      await store.destroy(subject);
      expect(await store.isDestroyed(subject)).toBe(true);
      await expect(store.getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
      await expect(open().getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    });

    it('keeps a key cached on another instance until forget(), then sees it destroyed', async () => {
      const a = open();
      const b = open();
      const subject = randomUUID();
      const key = await a.getOrCreate(subject);
      expect((await b.get(subject))?.equals(key)).toBe(true);

      await a.destroy(subject);
      // b has not heard of the erasure yet: its cache still answers (this is why SubjectErased calls forget).
      expect((await b.get(subject))?.equals(key)).toBe(true);
      b.forget(subject);
      expect(await b.get(subject)).toBeNull();
      await expect(b.getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    });

    it("answers the store's truth for isDestroyed even while a key is cached", async () => {
      const a = open();
      const b = open();
      const subject = randomUUID();
      await b.getOrCreate(subject);
      await a.destroy(subject);
      expect(await b.isDestroyed(subject)).toBe(true);
      expect(await b.get(subject)).toBeNull();
    });

    it('yields one key when two instances race 50 concurrent getOrCreate calls each', async () => {
      const a = open();
      const b = open();
      const subject = randomUUID();
      const calls = Array.from({ length: 100 }, (_, index) => (index % 2 === 0 ? a : b).getOrCreate(subject));
      const keys = await Promise.all(calls);
      expect(new Set(keys.map((key) => key.toString('hex'))).size).toBe(1);
      expect((await open().get(subject))?.equals(keys[0])).toBe(true);
    });

    it('reads the store once per subject, then serves the LRU cache', async () => {
      const store = open();
      const subject = randomUUID();
      const key = await open().getOrCreate(subject);
      const reads = countReads(store);
      const results = await Promise.all(Array.from({ length: 200 }, () => store.get(subject)));
      for (let index = 0; index < 300; index += 1) results.push(await store.get(subject));
      expect(results.every((result) => result?.equals(key))).toBe(true);
      expect(reads).toHaveBeenCalledTimes(1);
    });

    it('caches destroyed markers too', async () => {
      const store = open();
      const subject = randomUUID();
      await open().destroy(subject);
      const reads = countReads(store);
      for (let index = 0; index < 50; index += 1) expect(await store.get(subject)).toBeNull();
      expect(reads).toHaveBeenCalledTimes(1);
    });

    it('bounds the cache (least recently used subject evicted first)', async () => {
      const store = open({ cacheSize: 2 });
      const [s1, s2, s3] = [randomUUID(), randomUUID(), randomUUID()];
      for (const subject of [s1, s2, s3]) await store.getOrCreate(subject);
      const reads = countReads(store);
      await store.get(s3);
      await store.get(s2);
      expect(reads).toHaveBeenCalledTimes(0);
      await store.get(s1); // evicted: read again, evicting s3
      expect(reads).toHaveBeenCalledTimes(1);
      await store.get(s2);
      await store.get(s1);
      expect(reads).toHaveBeenCalledTimes(1);
      await store.get(s3);
      expect(reads).toHaveBeenCalledTimes(2);
    });

    it('does not put a key back into the cache when destroy overtakes a load in flight', async () => {
      const store = open();
      const creator = open();
      const subject = randomUUID();
      await creator.getOrCreate(subject);
      const loading = store.get(subject);
      const creating = store.getOrCreate(subject);
      await store.destroy(subject);
      await Promise.allSettled([loading, creating]);
      expect(await store.get(subject)).toBeNull();
      await expect(store.getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    });

    it('refuses to unwrap keys of another master key, and reads them after a rotation', async () => {
      const subject = randomUUID();
      const key = await open().getOrCreate(subject);

      const rotated = masterKeyFromBytes(randomBytes(32));
      await expect(open({ masterKey: rotated }).get(subject)).rejects.toBeInstanceOf(UnknownMasterKeyError);
      await expect(open({ masterKey: rotated }).getOrCreate(subject)).rejects.toMatchObject({
        code: 'UNKNOWN_MASTER_KEY',
        masterKeyId: master.keyId,
      });

      const afterRotation = open({ masterKey: rotated, previousMasterKeys: [master] });
      expect((await afterRotation.get(subject))?.equals(key)).toBe(true);
      const newSubject = randomUUID();
      const newKey = await afterRotation.getOrCreate(newSubject);
      // New keys are wrapped by the new master key only.
      expect((await open({ masterKey: rotated }).get(newSubject))?.equals(newKey)).toBe(true);
      await expect(open().get(newSubject)).rejects.toBeInstanceOf(UnknownMasterKeyError);
    });

    it('refuses subject ids unfit for stream names', async () => {
      const store = open();
      for (const bad of ['', 'a/b', 'with space', 'x'.repeat(129), 'é']) {
        await expect(store.getOrCreate(bad)).rejects.toBeInstanceOf(InvalidSubjectIdError);
        await expect(store.destroy(bad)).rejects.toBeInstanceOf(InvalidSubjectIdError);
      }
    });

    it('reports health, and refuses work once closed (close is idempotent)', async () => {
      const store = open();
      await expect(store.checkHealth()).resolves.toBeUndefined();
      await store.close();
      await store.close();
      await expect(store.checkHealth()).rejects.toBeInstanceOf(KeyStoreUnavailableError);
      await expect(store.getOrCreate(randomUUID())).rejects.toBeInstanceOf(KeyStoreUnavailableError);
      await expect(store.get(randomUUID())).rejects.toBeInstanceOf(KeyStoreUnavailableError);
    });
  });
}
