import { Inject, Injectable } from '@nestjs/common';
import { SubjectCipher } from '../crypto/subject-cipher';
import { ObjectStorage } from '../object-storage/object-storage.port';

/**
 * Subject objects on the storage port: encrypted with the subject's data key before they leave
 * the process (the object key is the associated data), decrypted on read.
 */
@Injectable()
export class EncryptedObjects {
  constructor(
    @Inject(ObjectStorage) readonly storage: ObjectStorage,
    @Inject(SubjectCipher) private readonly cipher: SubjectCipher,
  ) {}

  async put(subjectId: string, key: string, bytes: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    const blob = await this.cipher.encryptObject(subjectId, key, bytes);
    await this.storage.put(key, blob, { contentType });
  }

  /** Throws ObjectNotFoundError when absent, SubjectKeyDestroyedError when shredded. */
  async get(subjectId: string, key: string): Promise<Buffer> {
    const blob = await this.storage.get(key);
    return this.cipher.decryptObject(subjectId, key, blob);
  }

  async delete(key: string): Promise<void> {
    await this.storage.delete(key);
  }
}
