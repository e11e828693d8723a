import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JsonObject } from '../event-store/event-store.port';
import { DecryptionFailedError, SubjectKeyDestroyedError } from './crypto.errors';
import { SHREDDED } from './field-cipher';
import { masterKeyFromBytes } from './master-key';
import { SqliteKeyStore } from './sqlite/sqlite-key-store';
import { SubjectCipher } from './subject-cipher';

interface ImageUploadedData {
  imageId: string;
  purpose: string;
  objectKeyHash: string;
  deviceId?: string;
  faces?: { x: number; y: number; w: number; h: number }[];
  note?: string;
}

describe('SubjectCipher', () => {
  let dataDir: string;
  let keyStore: SqliteKeyStore;
  let cipher: SubjectCipher;
  const extraStores: SqliteKeyStore[] = [];
  const master = masterKeyFromBytes(randomBytes(32));

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'subject-cipher-'));
    keyStore = new SqliteKeyStore({ dataDir, masterKey: master });
    cipher = new SubjectCipher(keyStore);
  });

  afterEach(async () => {
    await keyStore.close();
    for (const store of extraStores.splice(0)) await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const event = (): ImageUploadedData => ({
    imageId: randomUUID(),
    purpose: 'photo-restore',
    objectKeyHash: 'sha256:0f1e2d',
    deviceId: 'device-ab12cd34',
    faces: [{ x: 10, y: 12, w: 80, h: 96 }],
    note: undefined,
  });

  describe('event fields', () => {
    it('encrypts only the personal fields, skips undefined ones, and round-trips', async () => {
      const subject = randomUUID();
      const eventId = randomUUID();
      const data = event();
      const encrypted = await cipher.encryptFields(subject, eventId, data, ['deviceId', 'faces', 'note']);

      expect(encrypted.imageId).toBe(data.imageId);
      expect(encrypted.purpose).toBe('photo-restore');
      expect(encrypted.objectKeyHash).toBe('sha256:0f1e2d');
      expect(encrypted.deviceId).toEqual({ $pii: expect.stringMatching(/^v1\./) });
      expect(encrypted.faces).toEqual({ $pii: expect.stringMatching(/^v1\./) });
      expect('note' in encrypted).toBe(false);
      const json = JSON.stringify(encrypted);
      expect(json).not.toContain('device-ab12cd34');
      expect(json).not.toContain('"w":80');
      expect(data.deviceId).toBe('device-ab12cd34'); // the input is not modified

      const decrypted = await cipher.decryptFields(subject, eventId, encrypted);
      expect(decrypted).toEqual({ ...data, note: undefined });
      expect('note' in decrypted).toBe(false);
    });

    it('shreds: after destroySubjectKey personal fields read as SHREDDED, clear fields stay readable', async () => {
      const subject = randomUUID();
      const stored: { id: string; data: JsonObject }[] = [];
      for (let index = 0; index < 3; index += 1) {
        const id = randomUUID();
        stored.push({ id, data: await cipher.encryptFields(subject, id, event(), ['deviceId', 'faces']) });
      }
      await cipher.destroySubjectKey(subject);
      for (const { id, data } of stored) {
        const read = await cipher.decryptFields(subject, id, data);
        expect(read.deviceId).toBe(SHREDDED);
        expect(read.faces).toBe(SHREDDED);
        expect(read.purpose).toBe('photo-restore');
        expect(read.imageId).toBe(data.imageId);
      }
      // Another instance (fresh cache) sees the same.
      const other = new SqliteKeyStore({ dataDir, masterKey: master });
      extraStores.push(other);
      const read = await new SubjectCipher(other).decryptFields(subject, stored[0].id, stored[0].data);
      expect(read.deviceId).toBe(SHREDDED);
    });

    it('reads SHREDDED for a subject that has no key at all', async () => {
      const foreignStore = new SqliteKeyStore({ dataDir: path.join(dataDir, 'elsewhere'), masterKey: master });
      extraStores.push(foreignStore);
      const subject = randomUUID();
      const eventId = randomUUID();
      const encrypted = await new SubjectCipher(foreignStore).encryptFields(subject, eventId, event(), ['deviceId']);
      expect((await cipher.decryptFields(subject, eventId, encrypted)).deviceId).toBe(SHREDDED);
      expect(await keyStore.isDestroyed(subject)).toBe(false);
      expect(await keyStore.get(subject)).toBeNull(); // reading never creates a key
    });

    it('refuses new personal data for an erased subject', async () => {
      const subject = randomUUID();
      await cipher.destroySubjectKey(subject);
      await expect(cipher.encryptFields(subject, randomUUID(), event(), ['deviceId'])).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    });

    it('throws DecryptionFailedError on tampering, a field moved to another event, or swapped fields', async () => {
      const subject = randomUUID();
      const eventId = randomUUID();
      const encrypted = await cipher.encryptFields(subject, eventId, { a: 'alpha', b: 'beta' }, ['a', 'b']);

      const tampered = { ...encrypted, a: { $pii: flipLastChar((encrypted.a as { $pii: string }).$pii) } };
      await expect(cipher.decryptFields(subject, eventId, tampered)).rejects.toBeInstanceOf(DecryptionFailedError);
      await expect(cipher.decryptFields(subject, randomUUID(), encrypted)).rejects.toBeInstanceOf(DecryptionFailedError);
      const swapped = { a: encrypted.b, b: encrypted.a };
      await expect(cipher.decryptFields(subject, eventId, swapped)).rejects.toBeInstanceOf(DecryptionFailedError);
      // Another subject's key does not open it either.
      const otherSubject = randomUUID();
      await cipher.encryptObject(otherSubject, 'k', Buffer.from('x'));
      await expect(cipher.decryptFields(otherSubject, eventId, encrypted)).rejects.toBeInstanceOf(DecryptionFailedError);
    });

    it('does not touch the key store for events without personal fields, nor when none are present', async () => {
      const get = vi.spyOn(keyStore, 'get');
      const getOrCreate = vi.spyOn(keyStore, 'getOrCreate');
      const subject = randomUUID();
      const clear = await cipher.encryptFields(subject, randomUUID(), { purpose: 'erase-pen', deviceId: undefined }, ['deviceId']);
      expect(clear).toEqual({ purpose: 'erase-pen' });
      expect(await cipher.decryptFields(subject, randomUUID(), { purpose: 'erase-pen', nested: { $pii: 1 } })).toEqual({
        purpose: 'erase-pen',
        nested: { $pii: 1 },
      });
      expect(get).not.toHaveBeenCalled();
      expect(getOrCreate).not.toHaveBeenCalled();
    });

    it('reads the key store once when decrypting many events of one subject', async () => {
      const subject = randomUUID();
      const writer = new SqliteKeyStore({ dataDir, masterKey: master });
      extraStores.push(writer);
      const writerCipher = new SubjectCipher(writer);
      const events: { id: string; data: JsonObject }[] = [];
      for (let index = 0; index < 500; index += 1) {
        const id = randomUUID();
        events.push({ id, data: await writerCipher.encryptFields(subject, id, event(), ['deviceId', 'faces']) });
      }
      const reads = vi.spyOn(keyStore as any, 'readWrapped');
      for (const { id, data } of events) {
        expect((await cipher.decryptFields(subject, id, data)).deviceId).toBe('device-ab12cd34');
      }
      expect(reads).toHaveBeenCalledTimes(1);
    });
  });

  describe('objects', () => {
    it('round-trips object bytes bound to their object key', async () => {
      const subject = randomUUID();
      const objectKey = `originals/${subject}/${randomUUID()}`;
      const image = randomBytes(256 * 1024);
      const blob = await cipher.encryptObject(subject, objectKey, image);
      expect(blob.includes(image.subarray(0, 64))).toBe(false);
      expect((await cipher.decryptObject(subject, objectKey, blob)).equals(image)).toBe(true);
      await expect(cipher.decryptObject(subject, `artworks/${subject}/${randomUUID()}`, blob)).rejects.toBeInstanceOf(
        DecryptionFailedError,
      );
      const tampered = Buffer.from(blob);
      tampered[100] ^= 1;
      await expect(cipher.decryptObject(subject, objectKey, tampered)).rejects.toBeInstanceOf(DecryptionFailedError);
    });

    it('throws SubjectKeyDestroyedError for objects once the key is destroyed, or when there is none', async () => {
      const subject = randomUUID();
      const objectKey = `artworks/${subject}/${randomUUID()}`;
      const blob = await cipher.encryptObject(subject, objectKey, Buffer.from('artwork bytes'));
      await cipher.destroySubjectKey(subject);
      await expect(cipher.decryptObject(subject, objectKey, blob)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
      await expect(cipher.encryptObject(subject, objectKey, Buffer.from('more'))).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
      await expect(cipher.decryptObject(randomUUID(), objectKey, blob)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    });

    it('stops using a key another instance destroyed once told to forget it', async () => {
      const subject = randomUUID();
      const objectKey = `originals/${subject}/${randomUUID()}`;
      const blob = await cipher.encryptObject(subject, objectKey, Buffer.from('face'));
      const otherInstance = new SqliteKeyStore({ dataDir, masterKey: master });
      extraStores.push(otherInstance);
      await new SubjectCipher(otherInstance).destroySubjectKey(subject);
      cipher.forgetSubjectKey(subject); // what the SubjectErased handler does
      await expect(cipher.decryptObject(subject, objectKey, blob)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    });
  });
});

function flipLastChar(text: string): string {
  const last = text.at(-2) === 'A' ? 'B' : 'A';
  return `${text.slice(0, -2)}${last}${text.slice(-1)}`;
}
