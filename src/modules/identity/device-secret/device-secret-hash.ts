import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Device secrets are stored only as a slow, salted hash: scrypt (RFC 7914) with N = 2^15, r = 8,
 * p = 1, a 16-byte random salt and a 32-byte key, encoded `scrypt$N$r$p$<salt>$<hash>` (base64url).
 * About 32 MiB and tens of milliseconds per hash: cheap for one login, ruinous for a guessing run.
 */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds on parameters read back from a stored hash (a corrupted value must not exhaust memory). */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface ScryptHashParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** scrypt needs 128·N·r bytes (plus a little): allow twice that. */
function maxmemFor(params: ScryptHashParams): number {
  return 256 * params.N * params.r + 1024 * 1024;
}

function derive(secret: string, salt: Buffer, keyLength: number, params: ScryptHashParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: maxmemFor(params) };
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize('NFC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** A fresh salted hash of `secret`, in the encoded form. */
export async function hashDeviceSecret(secret: string, params: ScryptHashParams = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(secret, salt, KEY_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface ParsedHash {
  readonly params: ScryptHashParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

export function parseDeviceSecretHash(encoded: string): ParsedHash | null {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((v) => (/^\d{1,8}$/.test(v) ? Number(v) : NaN));
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return null;
  if (!Number.isInteger(r) || r < 1 || r > MAX_R || !Number.isInteger(p) || p < 1 || p > MAX_P) return null;
  if (!B64URL.test(parts[4]) || !B64URL.test(parts[5])) return null;
  const salt = Buffer.from(parts[4], 'base64url');
  const key = Buffer.from(parts[5], 'base64url');
  if (salt.length < 8 || key.length < 16 || key.length > 64) return null;
  return { params: { N, r, p }, salt, key };
}

/**
 * Does `secret` match the encoded hash? Constant-time comparison; a malformed hash never matches
 * (and still costs one derivation, so the answer time does not reveal it).
 */
export async function verifyDeviceSecret(secret: string, encoded: string): Promise<boolean> {
  const parsed = parseDeviceSecretHash(encoded);
  if (!parsed) {
    await derive(secret, randomBytes(SALT_BYTES), KEY_BYTES, SCRYPT_PARAMS);
    return false;
  }
  const candidate = await derive(secret, parsed.salt, parsed.key.length, parsed.params);
  return timingSafeEqual(candidate, parsed.key);
}

/**
 * Costs what a real verification costs, and never matches: run for unknown or released devices so
 * "no such device" and "wrong secret" take about the same time.
 */
export async function dummyVerifyDeviceSecret(secret: string): Promise<false> {
  await derive(secret, randomBytes(SALT_BYTES), KEY_BYTES, SCRYPT_PARAMS);
  return false;
}
