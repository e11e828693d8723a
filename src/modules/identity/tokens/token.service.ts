import { Inject, Injectable } from '@nestjs/common';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { Clock } from '../../clock/clock.port';
import { DerivedKeys } from '../../crypto/derived-keys';
import { LruCache } from '../../crypto/lru-cache';

const ISSUER = 'photo-memory';
const AUDIENCE = 'photo-memory-mobile';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Verified tokens remembered (each about 0.5 KB): one per active device session is plenty. */
export const VERIFIED_TOKEN_CACHE_ENTRIES = 10_000;

/** What a successful verification established about a token, apart from the clock checks. */
interface VerifiedToken {
  readonly subjectId: string;
  /** `nbf` and `exp` in ms: the token is valid while notBefore <= now < expiresAt. */
  readonly notBefore: number;
  readonly expiresAt: number;
}

export interface IssuedToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresIn: number;
}

/**
 * Short-lived access tokens bound to a subject: JWT, HS256 only (any other `alg`, `none`
 * included, is refused), with issuer, audience, expiry and a unique id. The key is TOKEN_SECRET
 * or, by default, derived from the master key so every instance shares it.
 */
@Injectable()
export class TokenService {
  private readonly key: Uint8Array;
  private readonly ttlSeconds: number;
  /**
   * Tokens whose signature and claims were verified, keyed by the exact token text. Everything a
   * verification checks is fixed by that text except the time window, which is checked again on
   * every use with the injected clock, exactly as jose does (no tolerance): a cached token is
   * accepted for precisely as long as a fresh verification would accept it, never beyond its
   * expiry. Revocation is not a token property: an erased subject is refused by the auth guard's
   * subject-status check on every request, cached token or not.
   */
  private readonly verified = new LruCache<string, VerifiedToken>(VERIFIED_TOKEN_CACHE_ENTRIES);

  constructor(
    @Inject(AppConfig) config: AppConfig,
    @Inject(DerivedKeys) keys: DerivedKeys,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    this.key = config.tokens.secret ? new TextEncoder().encode(config.tokens.secret) : new Uint8Array(keys.tokenSigningKey);
    this.ttlSeconds = config.tokens.ttlSeconds;
  }

  async issue(subjectId: string): Promise<IssuedToken> {
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const accessToken = await new SignJWT({ typ: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subjectId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + this.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.key);
    return { accessToken, tokenType: 'Bearer', expiresIn: this.ttlSeconds };
  }

  /** The subject id, or null for any invalid, expired, foreign or tampered token. */
  async verify(token: string): Promise<string | null> {
    if (token.length > 2048) return null;
    const now = this.clock.now().getTime();
    const cached = this.verified.get(token);
    if (cached) {
      if (now >= cached.notBefore && now < cached.expiresAt) return cached.subjectId;
      if (now >= cached.expiresAt) this.verified.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: new Date(now),
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      if (payload.typ !== 'access' || typeof payload.sub !== 'string' || !UUID.test(payload.sub)) return null;
      if (typeof payload.exp === 'number') {
        const notBefore = typeof payload.nbf === 'number' ? payload.nbf * 1000 : -Infinity;
        this.verified.set(token, { subjectId: payload.sub, notBefore, expiresAt: payload.exp * 1000 });
      }
      return payload.sub;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return null;
      throw error;
    }
  }
}
