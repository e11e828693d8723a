import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../event-store/event-store.port';
import { DecryptionFailedError } from './crypto.errors';
import { decryptField, encryptField, isEncryptedField, SHREDDED } from './field-cipher';

const key = randomBytes(32);

describe('field cipher', () => {
  it('round-trips every kind of JSON value', () => {
    const eventId = randomUUID();
    const values: JsonValue[] = [
      'device-7f3a',
      '',
      '人脸 😀',
      0,
      -12.5,
      true,
      false,
      null,
      [],
      [1, 'two', null],
      { box: { x: 10, y: 20, w: 64, h: 64 }, landmarks: [[1, 2], [3, 4]] },
    ];
    for (const value of values) {
      const field = encryptField(key, eventId, 'deviceId', value);
      expect(isEncryptedField(field)).toBe(true);
      expect(decryptField(key, eventId, 'deviceId', field)).toEqual(value);
    }
  });

  it('encodes `v1.` + base64url(iv | tag | ciphertext) and hides the value', () => {
    const field = encryptField(key, randomUUID(), 'note', 'my grandmother in 1962');
    expect(Object.keys(field)).toEqual(['$pii']);
    expect(field.$pii).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    const raw = Buffer.from(field.$pii.slice(3), 'base64url');
    expect(raw.length).toBe(12 + 16 + JSON.stringify('my grandmother in 1962').length);
    expect(JSON.stringify(field)).not.toContain('grandmother');
  });

  it('refuses a field copied into another event (the event id is associated data)', () => {
    const field = encryptField(key, randomUUID(), 'deviceId', 'device-1');
    expect(() => decryptField(key, randomUUID(), 'deviceId', field)).toThrow(DecryptionFailedError);
  });

  it('refuses fields swapped within an event', () => {
    const eventId = randomUUID();
    const deviceId = encryptField(key, eventId, 'deviceId', 'device-1');
    const note = encryptField(key, eventId, 'note', 'hello');
    expect(() => decryptField(key, eventId, 'note', deviceId)).toThrow(DecryptionFailedError);
    expect(() => decryptField(key, eventId, 'deviceId', note)).toThrow(DecryptionFailedError);
  });

  it('refuses another key, tampering, truncation and unknown versions', () => {
    const eventId = randomUUID();
    const field = encryptField(key, eventId, 'deviceId', 'device-1');
    expect(() => decryptField(randomBytes(32), eventId, 'deviceId', field)).toThrow(DecryptionFailedError);

    const raw = Buffer.from(field.$pii.slice(3), 'base64url');
    for (let index = 0; index < raw.length; index += 1) {
      const tampered = Buffer.from(raw);
      tampered[index] ^= 0x80;
      expect(() => decryptField(key, eventId, 'deviceId', { $pii: `v1.${tampered.toString('base64url')}` })).toThrow(
        DecryptionFailedError,
      );
    }
    expect(() => decryptField(key, eventId, 'deviceId', { $pii: `v1.${raw.subarray(0, 27).toString('base64url')}` })).toThrow(
      DecryptionFailedError,
    );
    expect(() => decryptField(key, eventId, 'deviceId', { $pii: `v2.${raw.toString('base64url')}` })).toThrow(DecryptionFailedError);
    expect(() => decryptField(key, eventId, 'deviceId', { $pii: 'v1.not base64!' })).toThrow(DecryptionFailedError);
    expect(() => decryptField(key, eventId, 'deviceId', { $pii: '' })).toThrow(DecryptionFailedError);
  });

  it('recognises only { $pii: string } as an encrypted field', () => {
    expect(isEncryptedField({ $pii: 'v1.abc' })).toBe(true);
    expect(isEncryptedField({ $pii: 1 })).toBe(false);
    expect(isEncryptedField({ $pii: 'v1.abc', other: 1 })).toBe(false);
    expect(isEncryptedField(['v1.abc'])).toBe(false);
    expect(isEncryptedField(null)).toBe(false);
    expect(isEncryptedField('v1.abc')).toBe(false);
    expect(isEncryptedField({})).toBe(false);
    expect(isEncryptedField(SHREDDED)).toBe(false);
  });

  it('refuses an event id containing "/" (it would make the associated data ambiguous)', () => {
    expect(() => encryptField(key, 'a/b', 'c', 'x')).toThrow(RangeError);
    expect(() => encryptField(key, randomUUID(), '', 'x')).toThrow(RangeError);
  });

  it('exports the shredded marker used by readers', () => {
    expect(SHREDDED).toBe('[shredded]');
  });
});
