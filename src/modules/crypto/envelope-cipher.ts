import { assertKey, open, seal, SEAL_OVERHEAD } from './aes-gcm';
import { DecryptionFailedError } from './crypto.errors';

/**
 * Envelope encryption of objects (images, artworks, temp files, exports) with the subject's data key.
 *
 * Blob format: `version (1 byte) | iv (12 bytes) | tag (16 bytes) | ciphertext`, AES-256-GCM.
 * The associated data is the object key, so a blob copied or moved to another key does not decrypt.
 */
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_OVERHEAD = 1 + SEAL_OVERHEAD;

export function encryptBytes(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const blob = seal(key, plaintext, Buffer.from(aad, 'utf8'), 1);
  blob[0] = ENVELOPE_VERSION;
  return blob;
}

/** Throws DecryptionFailedError on an unknown version, a truncated blob, a wrong key or AAD, or tampering. */
export function decryptBytes(key: Buffer, blob: Buffer, aad: string): Buffer {
  assertKey(key);
  if (blob.length < ENVELOPE_OVERHEAD) {
    throw new DecryptionFailedError('Decryption failed: the blob is truncated');
  }
  if (blob[0] !== ENVELOPE_VERSION) {
    throw new DecryptionFailedError('Decryption failed: unknown envelope version');
  }
  return open(key, blob, Buffer.from(aad, 'utf8'), 1);
}
