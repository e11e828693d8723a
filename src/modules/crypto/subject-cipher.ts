import type { JsonObject, JsonValue } from '../event-store/event-store.port';
import { SubjectKeyDestroyedError } from './crypto.errors';
import { decryptBytes, encryptBytes } from './envelope-cipher';
import { decryptField, encryptField, isEncryptedField, SHREDDED } from './field-cipher';
import { KeyStore } from './key-store.port';

/**
 * The one crypto service the rest of the application uses: personal event fields and objects are
 * encrypted with the subject's data key; destroying that key shreds them.
 *
 * Keys come from the KeyStore's LRU cache, so reading many events of one subject costs one store
 * read; events without encrypted fields never touch the key store at all.
 */
export class SubjectCipher {
  constructor(private readonly keyStore: KeyStore) {}

  /**
   * A shallow copy of `data` with the named personal fields encrypted (AAD `<eventId>/<field>`).
   * Fields that are undefined or absent are skipped. Throws SubjectKeyDestroyedError for an erased
   * subject: no new personal data is ever written for them.
   */
  async encryptFields<T extends object>(
    subjectId: string,
    eventId: string,
    data: T,
    personalFieldNames: readonly (keyof T & string)[],
  ): Promise<JsonObject> {
    const source = data as Readonly<Record<string, JsonValue | undefined>>;
    const result: JsonObject = {};
    for (const [name, value] of Object.entries(source)) {
      if (value !== undefined) result[name] = value;
    }
    const present = personalFieldNames.filter((name) => source[name] !== undefined);
    if (present.length === 0) return result;
    const key = await this.keyStore.getOrCreate(subjectId);
    for (const name of present) {
      const value = source[name];
      if (value !== undefined) result[name] = encryptField(key, eventId, name, value);
    }
    return result;
  }

  /**
   * A shallow copy of `data` with every top-level `{ $pii }` field decrypted, or replaced by
   * SHREDDED when the subject's key is destroyed or absent. Throws DecryptionFailedError when a
   * field was tampered with or moved from another event or field.
   */
  async decryptFields(subjectId: string, eventId: string, data: JsonObject): Promise<JsonObject> {
    let result: JsonObject | undefined;
    let key: Buffer | null | undefined;
    for (const name of Object.keys(data)) {
      const value = data[name];
      if (!isEncryptedField(value)) continue;
      if (result === undefined) {
        result = { ...data };
        key = await this.keyStore.get(subjectId);
      }
      result[name] = key ? decryptField(key, eventId, name, value) : SHREDDED;
    }
    return result ?? { ...data };
  }

  /** Encrypts an object's bytes; the object key is the associated data, so blobs cannot be moved. */
  async encryptObject(subjectId: string, objectKey: string, bytes: Buffer): Promise<Buffer> {
    const key = await this.keyStore.getOrCreate(subjectId);
    return encryptBytes(key, bytes, objectKey);
  }

  /** Throws SubjectKeyDestroyedError when the subject has no key (shredded), DecryptionFailedError on tampering. */
  async decryptObject(subjectId: string, objectKey: string, blob: Buffer): Promise<Buffer> {
    const key = await this.keyStore.get(subjectId);
    if (!key) {
      throw new SubjectKeyDestroyedError(subjectId, `Subject ${subjectId} has no data key (destroyed or never created): object ${objectKey} is unreadable`);
    }
    return decryptBytes(key, blob, objectKey);
  }

  /** Crypto-shredding: every field and object of the subject becomes unreadable, for good. */
  async destroySubjectKey(subjectId: string): Promise<void> {
    await this.keyStore.destroy(subjectId);
  }

  /** Drop the subject's key from this instance's memory (another instance erased the subject). */
  forgetSubjectKey(subjectId: string): void {
    this.keyStore.forget(subjectId);
  }
}
