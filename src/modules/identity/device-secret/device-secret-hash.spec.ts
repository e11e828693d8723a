import { describe, expect, it } from 'vitest';
import { dummyVerifyDeviceSecret, hashDeviceSecret, parseDeviceSecretHash, SCRYPT_PARAMS, verifyDeviceSecret } from './device-secret-hash';

const SECRET = 'device-secret-0123456789abcdefghijklmnop';

describe('device secret hash (scrypt)', () => {
  it('is encoded scrypt$N$r$p$salt$hash with N=2^15, r=8, p=1, a 16-byte salt and a 32-byte key', async () => {
    const encoded = await hashDeviceSecret(SECRET);
    const parts = encoded.split('$');
    expect(parts).toHaveLength(6);
    expect(parts.slice(0, 4)).toEqual(['scrypt', '32768', '8', '1']);
    expect(Buffer.from(parts[4], 'base64url')).toHaveLength(16);
    expect(Buffer.from(parts[5], 'base64url')).toHaveLength(32);
    expect(SCRYPT_PARAMS).toEqual({ N: 32768, r: 8, p: 1 });
    expect(encoded).not.toContain(SECRET);
  });

  it('salts every hash: the same secret never hashes the same twice', async () => {
    const [a, b] = await Promise.all([hashDeviceSecret(SECRET), hashDeviceSecret(SECRET)]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
  });

  it('verifies the right secret and refuses any other', async () => {
    const encoded = await hashDeviceSecret(SECRET);
    expect(await verifyDeviceSecret(SECRET, encoded)).toBe(true);
    expect(await verifyDeviceSecret(`${SECRET}x`, encoded)).toBe(false);
    expect(await verifyDeviceSecret(SECRET.slice(0, -1), encoded)).toBe(false);
    expect(await verifyDeviceSecret(SECRET.toUpperCase(), encoded)).toBe(false);
  });

  it('reads the parameters from the stored hash (a hash made with other parameters still verifies)', async () => {
    const encoded = await hashDeviceSecret(SECRET, { N: 1024, r: 8, p: 1 });
    expect(encoded.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyDeviceSecret(SECRET, encoded)).toBe(true);
    expect(await verifyDeviceSecret('another-secret-0123456789abcdefghijkl', encoded)).toBe(false);
  });

  it('treats the secret as Unicode text (NFC): composed and decomposed forms match', async () => {
    const composed = 'caf\u00e9-secret-0123456789abcdefghijklmnop';
    const decomposed = 'cafe\u0301-secret-0123456789abcdefghijklmnop';
    expect(await verifyDeviceSecret(decomposed, await hashDeviceSecret(composed))).toBe(true);
  });

  it('never matches a malformed or tampered hash, and refuses absurd parameters', async () => {
    const encoded = await hashDeviceSecret(SECRET);
    const parts = encoded.split('$');
    const flipped = Buffer.from(parts[5], 'base64url');
    flipped[0] ^= 1;
    const tampered = [...parts.slice(0, 5), flipped.toString('base64url')].join('$');
    expect(await verifyDeviceSecret(SECRET, tampered)).toBe(false);
    for (const bad of ['', 'plain', 'bcrypt$1$2$3$4$5', `scrypt$1000$8$1$${parts[4]}$${parts[5]}`, `scrypt$${2 ** 24}$8$1$${parts[4]}$${parts[5]}`, `scrypt$32768$8$1$!!$${parts[5]}`]) {
      expect(parseDeviceSecretHash(bad)).toBeNull();
      expect(await verifyDeviceSecret(SECRET, bad)).toBe(false);
    }
    expect(parseDeviceSecretHash(encoded)).toMatchObject({ params: { N: 32768, r: 8, p: 1 } });
  });

  it('the dummy verification (unknown devices) never matches', async () => {
    expect(await dummyVerifyDeviceSecret(SECRET)).toBe(false);
  });
});
