import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptionFailedError } from './crypto.errors';
import { decryptBytes, encryptBytes, ENVELOPE_OVERHEAD, ENVELOPE_VERSION } from './envelope-cipher';

const key = randomBytes(32);
const objectKey = 'originals/3f1c2b9e-1111-4a4a-8888-000000000001/7d0e0c55-2222-4b4b-9999-000000000002';

describe('envelope cipher', () => {
  it('round-trips bytes of any size, including empty and multi-megabyte blobs', () => {
    for (const size of [0, 1, 15, 16, 17, 4096, 3 * 1024 * 1024 + 7]) {
      const plaintext = randomBytes(size);
      const blob = encryptBytes(key, plaintext, objectKey);
      expect(blob.length).toBe(size + ENVELOPE_OVERHEAD);
      expect(decryptBytes(key, blob, objectKey).equals(plaintext)).toBe(true);
    }
  });

  it('writes version | 12-byte IV | 16-byte tag | ciphertext, with a fresh IV every time', () => {
    const plaintext = Buffer.from('the same bytes twice');
    const a = encryptBytes(key, plaintext, objectKey);
    const b = encryptBytes(key, plaintext, objectKey);
    expect(ENVELOPE_OVERHEAD).toBe(1 + 12 + 16);
    expect(a[0]).toBe(ENVELOPE_VERSION);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.equals(b)).toBe(false);
    expect(a.includes(plaintext)).toBe(false);
  });

  it('refuses a blob moved to another object key (AAD)', () => {
    const blob = encryptBytes(key, Buffer.from('face'), objectKey);
    expect(() => decryptBytes(key, blob, `${objectKey}x`)).toThrow(DecryptionFailedError);
    expect(() => decryptBytes(key, blob, '')).toThrow(DecryptionFailedError);
  });

  it('refuses another key', () => {
    const blob = encryptBytes(key, Buffer.from('face'), objectKey);
    expect(() => decryptBytes(randomBytes(32), blob, objectKey)).toThrow(DecryptionFailedError);
  });

  it('detects a flipped bit anywhere: version, IV, tag or ciphertext', () => {
    const blob = encryptBytes(key, randomBytes(64), objectKey);
    for (let index = 0; index < blob.length; index += 1) {
      const tampered = Buffer.from(blob);
      tampered[index] ^= 0x01;
      expect(() => decryptBytes(key, tampered, objectKey), `byte ${index}`).toThrow(DecryptionFailedError);
    }
  });

  it('detects truncation and appended bytes', () => {
    const blob = encryptBytes(key, randomBytes(64), objectKey);
    expect(() => decryptBytes(key, blob.subarray(0, blob.length - 1), objectKey)).toThrow(DecryptionFailedError);
    expect(() => decryptBytes(key, blob.subarray(0, ENVELOPE_OVERHEAD - 1), objectKey)).toThrow(DecryptionFailedError);
    expect(() => decryptBytes(key, Buffer.alloc(0), objectKey)).toThrow(DecryptionFailedError);
    expect(() => decryptBytes(key, Buffer.concat([blob, Buffer.from([0])]), objectKey)).toThrow(DecryptionFailedError);
  });

  it('gives DecryptionFailedError a stable code and a message without data', () => {
    const blob = encryptBytes(key, Buffer.from('secret face geometry'), objectKey);
    blob[blob.length - 1] ^= 0xff;
    try {
      decryptBytes(key, blob, objectKey);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DecryptionFailedError);
      expect((error as DecryptionFailedError).code).toBe('DECRYPTION_FAILED');
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => encryptBytes(randomBytes(16), Buffer.from('x'), objectKey)).toThrow(RangeError);
    expect(() => decryptBytes(randomBytes(31), Buffer.alloc(40), objectKey)).toThrow(RangeError);
  });
});
