import { createCipheriv, createDecipheriv } from 'node:crypto';
import { DecryptionFailedError } from './crypto.errors';
import { fillRandom } from '../../common/random/random-pool';

/** AES-256-GCM with a 96-bit random IV and a full 128-bit tag: the one primitive of the module. */
export const AES_256_GCM = 'aes-256-gcm';
export const KEY_LENGTH = 32;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
/** iv | tag */
export const SEAL_OVERHEAD = IV_LENGTH + TAG_LENGTH;

export function assertKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_LENGTH) {
    throw new RangeError(`AES-256-GCM needs a ${KEY_LENGTH}-byte key`);
  }
}

/**
 * Encrypts `plaintext` and writes `iv | tag | ciphertext` into a new buffer that starts with
 * `headerLength` bytes left for the caller (a version byte, say).
 */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer, headerLength = 0): Buffer {
  assertKey(key);
  const out = Buffer.allocUnsafe(headerLength + SEAL_OVERHEAD + plaintext.length);
  fillRandom(out, headerLength, IV_LENGTH);
  const iv = out.subarray(headerLength, headerLength + IV_LENGTH);
  const cipher = createCipheriv(AES_256_GCM, key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  let offset = headerLength + SEAL_OVERHEAD;
  offset += cipher.update(plaintext).copy(out, offset);
  offset += cipher.final().copy(out, offset);
  cipher.getAuthTag().copy(out, headerLength + IV_LENGTH);
  return offset === out.length ? out : out.subarray(0, offset);
}

/** Opens `iv | tag | ciphertext` found at `sealed[offset..]`; any failure is a DecryptionFailedError. */
export function open(key: Buffer, sealed: Buffer, aad: Buffer, offset = 0): Buffer {
  assertKey(key);
  if (sealed.length - offset < SEAL_OVERHEAD) {
    throw new DecryptionFailedError('Decryption failed: the ciphertext is truncated');
  }
  const iv = sealed.subarray(offset, offset + IV_LENGTH);
  const tag = sealed.subarray(offset + IV_LENGTH, offset + SEAL_OVERHEAD);
  const body = sealed.subarray(offset + SEAL_OVERHEAD);
  try {
    const decipher = createDecipheriv(AES_256_GCM, key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const first = decipher.update(body);
    const last = decipher.final();
    return last.length === 0 ? first : Buffer.concat([first, last]);
  } catch {
    throw new DecryptionFailedError();
  }
}
