import { Inject, Injectable } from '@nestjs/common';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { Clock } from '../../clock/clock.port';
import { DerivedKeys } from '../../crypto/derived-keys';

const ISSUER = 'photo-memory';
const AUDIENCE = 'photo-memory-mobile';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: this.clock.now(),
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      if (payload.typ !== 'access' || typeof payload.sub !== 'string' || !UUID.test(payload.sub)) return null;
      return payload.sub;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return null;
      throw error;
    }
  }
}
