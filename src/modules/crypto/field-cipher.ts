import type { JsonValue } from '../event-store/event-store.port';
import { assertKey, open, seal } from './aes-gcm';
import { DecryptionFailedError } from './crypto.errors';

/**
 * Encryption of personal fields inside events (device id, face geometry, free text).
 *
 * An encrypted field is `{ "$pii": "v1.<base64url(iv | tag | ciphertext)>" }`, the plaintext being
 * `JSON.stringify(value)`, AES-256-GCM under the subject's data key. The associated data is
 * `<eventId>/<fieldName>`: a field copied into another event, or swapped with another field of the
 * same event, does not decrypt.
 */
export type EncryptedField = { readonly $pii: string };

/** What readers see in place of a personal field whose subject key was destroyed (defined with the event schemas). */
export { SHREDDED } from '../../events/schema';

const PREFIX = 'v1.';

function fieldAad(eventId: string, fieldName: string): Buffer {
  // Event ids are UUIDs; refusing '/' keeps `<eventId>/<fieldName>` unambiguous.
  if (eventId.length === 0 || eventId.includes('/')) {
    throw new RangeError('Event id must be non-empty and must not contain "/"');
  }
  if (fieldName.length === 0) throw new RangeError('Field name must be non-empty');
  return Buffer.from(`${eventId}/${fieldName}`, 'utf8');
}

export function encryptField(key: Buffer, eventId: string, fieldName: string, value: JsonValue): EncryptedField {
  const json: string | undefined = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`Field ${fieldName} has no JSON value`);
  const sealed = seal(key, Buffer.from(json, 'utf8'), fieldAad(eventId, fieldName));
  return { $pii: PREFIX + sealed.toString('base64url') };
}

/** True for `{ $pii: string }` and nothing else (no other own keys). */
export function isEncryptedField(value: unknown): value is EncryptedField {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  if (typeof record.$pii !== 'string') return false;
  for (const name in record) {
    if (name !== '$pii' && Object.prototype.hasOwnProperty.call(record, name)) return false;
  }
  return true;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Throws DecryptionFailedError on a wrong key, event or field, an unknown version, or tampering. */
export function decryptField(key: Buffer, eventId: string, fieldName: string, field: EncryptedField): JsonValue {
  assertKey(key);
  const text = field.$pii;
  if (!text.startsWith(PREFIX)) throw new DecryptionFailedError('Decryption failed: unknown field format');
  const encoded = text.slice(PREFIX.length);
  if (!BASE64URL.test(encoded)) throw new DecryptionFailedError('Decryption failed: malformed field');
  const plaintext = open(key, Buffer.from(encoded, 'base64url'), fieldAad(eventId, fieldName));
  try {
    return JSON.parse(plaintext.toString('utf8')) as JsonValue;
  } catch {
    throw new DecryptionFailedError('Decryption failed: the field does not hold JSON');
  }
}
