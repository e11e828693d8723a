import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.port';
import { loadConfig } from '../../config/app-config';
import type { DerivedKeys } from '../../crypto/derived-keys';
import { TokenService } from './token.service';

const SECRET = 'token-secret-0123456789abcdef0123456789';
const SUBJECT = '0f8fa8b2-3b8a-4c7e-9d52-5e1e2a1c9a11';

function service(clock: ManualClock, secret = SECRET): TokenService {
  const config = loadConfig({ DATA_DIR: '/tmp/unused-token-spec', TOKEN_SECRET: secret, TOKEN_TTL: 'PT15M' });
  return new TokenService(config, {} as DerivedKeys, clock);
}

describe('TokenService verification (with its verified-token cache)', () => {
  it('accepts a token exactly until its expiry, on every use after the first as on the first', async () => {
    const clock = new ManualClock('2026-03-02T10:00:00.000Z');
    const tokens = service(clock);
    const { accessToken } = await tokens.issue(SUBJECT);
    expect(await tokens.verify(accessToken)).toBe(SUBJECT);
    expect(await tokens.verify(accessToken)).toBe(SUBJECT);
    clock.advance(15 * 60_000 - 1);
    expect(await tokens.verify(accessToken)).toBe(SUBJECT);
    clock.advance(1);
    expect(await tokens.verify(accessToken)).toBeNull();
    expect(await tokens.verify(accessToken)).toBeNull();
  });

  it('refuses a remembered token while the clock is before its not-before time (a clock stepped back)', async () => {
    const clock = new ManualClock('2026-03-02T10:00:00.000Z');
    const tokens = service(clock);
    const { accessToken } = await tokens.issue(SUBJECT);
    expect(await tokens.verify(accessToken)).toBe(SUBJECT);
    clock.advance(-6_000); // nbf is issue time − 5 s
    expect(await tokens.verify(accessToken)).toBeNull();
    clock.advance(2_000);
    expect(await tokens.verify(accessToken)).toBe(SUBJECT);
  });

  it('a remembered token does not vouch for any other text: tampered, re-signed with another key, or another alg', async () => {
    const clock = new ManualClock('2026-03-02T10:00:00.000Z');
    const tokens = service(clock);
    const { accessToken } = await tokens.issue(SUBJECT);
    expect(await tokens.verify(accessToken)).toBe(SUBJECT);
    const [header, payload, signature] = accessToken.split('.');
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    expect(await tokens.verify(`${header}.${payload}.${flipped}`)).toBeNull();
    expect(await tokens.verify(`${header}.${payload}.`)).toBeNull();
    const other = await service(clock, 'another-secret-0123456789abcdef0123456').issue(SUBJECT);
    expect(await tokens.verify(other.accessToken)).toBeNull();
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    expect(await tokens.verify(none)).toBeNull();
  });

  it('a token without an access type or with a non-UUID subject is refused, and stays refused', async () => {
    const clock = new ManualClock('2026-03-02T10:00:00.000Z');
    const tokens = service(clock);
    const now = Math.floor(clock.now().getTime() / 1000);
    const key = new TextEncoder().encode(SECRET);
    const refresh = await new SignJWT({ typ: 'refresh' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(SUBJECT)
      .setIssuer('photo-memory')
      .setAudience('photo-memory-mobile')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .setJti('j-1')
      .sign(key);
    expect(await tokens.verify(refresh)).toBeNull();
    expect(await tokens.verify(refresh)).toBeNull();
  });
});
