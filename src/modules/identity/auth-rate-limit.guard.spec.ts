import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../common/errors/domain-error';
import { ManualClock } from '../clock/clock.port';
import { loadConfig } from '../config/app-config';
import { DerivedKeys } from '../crypto/derived-keys';
import { masterKeyFromBytes } from '../crypto/master-key';
import { AuthRateLimiter } from './auth-rate-limit.guard';

function limiter(perMinute: number, clock = new ManualClock('2026-03-02T02:00:00.000Z')) {
  const config = loadConfig({ DATA_DIR: '/tmp/unused', RATE_LIMIT_AUTH_PER_MINUTE: String(perMinute) });
  return { clock, limiter: new AuthRateLimiter(config, clock, new DerivedKeys(masterKeyFromBytes(randomBytes(32)))) };
}

function refusal(fn: () => void): DomainError | null {
  try {
    fn();
    return null;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe('AuthRateLimiter', () => {
  it('allows RATE_LIMIT_AUTH_PER_MINUTE attempts per IP, then 429 RATE_LIMITED with a Retry-After', () => {
    const { limiter: l } = limiter(3);
    for (let i = 0; i < 3; i++) expect(refusal(() => l.take('10.0.0.1', `device-${i}`))).toBeNull();
    const refused = refusal(() => l.take('10.0.0.1', 'device-9'));
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(refused?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refusal(() => l.take('10.0.0.2', 'device-9'))).toBeNull();
  });

  it('limits one device across many IPs', () => {
    const { limiter: l } = limiter(2);
    expect(refusal(() => l.take('10.0.0.1', 'the-device'))).toBeNull();
    expect(refusal(() => l.take('10.0.0.2', 'the-device'))).toBeNull();
    expect(refusal(() => l.take('10.0.0.3', 'the-device'))).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refusal(() => l.take('10.0.0.3', 'another-device'))).toBeNull();
  });

  it('refills with time (from the injected clock)', () => {
    const { limiter: l, clock } = limiter(1);
    expect(refusal(() => l.take('10.0.0.1', undefined))).toBeNull();
    expect(refusal(() => l.take('10.0.0.1', undefined))).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60 });
    clock.advance(60_000);
    expect(refusal(() => l.take('10.0.0.1', undefined))).toBeNull();
  });
});

describe('AuthRateLimiter and IPv6 clients', () => {
  it('counts one IPv6 /64 as one client (rotating the interface id does not escape the limit)', () => {
    const { limiter: l } = limiter(2);
    expect(refusal(() => l.take('2001:db8:7:7::1', undefined))).toBeNull();
    expect(refusal(() => l.take('2001:db8:7:7::2', undefined))).toBeNull();
    expect(refusal(() => l.take('2001:db8:7:7:dead:beef:0:3', undefined))).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refusal(() => l.take('2001:db8:7:8::1', undefined))).toBeNull();
  });
});
