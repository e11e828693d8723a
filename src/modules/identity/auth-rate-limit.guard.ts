import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { tooManyRequests } from '../../common/errors/domain-error';
import { clientKey } from '../../common/http/client-key';
import { RateLimiter } from '../../common/http/rate-limiter';
import { Clock } from '../clock/clock.port';
import { AppConfig } from '../config/app-config';
import { DerivedKeys } from '../crypto/derived-keys';

/**
 * Rate limits on the unauthenticated device endpoints (registration and token), shared by both:
 * RATE_LIMIT_AUTH_PER_MINUTE per client (an IPv4 address, or an IPv6 /64: see clientKey) and per
 * device (keyed by the device-id hash, never the id). Every attempt counts, failed or successful, malformed or not, so guessing secrets is slow
 * from one address and for one device from many addresses. Runs before body validation.
 */
@Injectable()
export class AuthRateLimiter {
  private readonly byIp: RateLimiter;
  private readonly byDevice: RateLimiter;

  constructor(
    @Inject(AppConfig) config: AppConfig,
    @Inject(Clock) clock: Clock,
    @Inject(DerivedKeys) private readonly keys: DerivedKeys,
  ) {
    const perMinute = config.http.authRateLimitPerMinute;
    const now = () => clock.now().getTime();
    this.byIp = new RateLimiter(perMinute, perMinute, now);
    this.byDevice = new RateLimiter(perMinute, perMinute, now);
  }

  /** Takes one attempt from the IP's bucket and, when the body names a device, the device's; throws 429 when either is empty. */
  take(ip: string, deviceId: unknown): void {
    const verdicts = [this.byIp.take(clientKey(ip))];
    if (typeof deviceId === 'string' && deviceId.length >= 1 && deviceId.length <= 256) verdicts.push(this.byDevice.take(this.keys.deviceHash(deviceId)));
    let retryAfter = 0;
    for (const verdict of verdicts) if (!verdict.allowed) retryAfter = Math.max(retryAfter, verdict.retryAfterSeconds);
    if (retryAfter > 0) throw tooManyRequests(retryAfter);
  }
}

@Injectable()
export class AuthRateLimitGuard implements CanActivate {
  constructor(@Inject(AuthRateLimiter) private readonly limiter: AuthRateLimiter) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const body = request.body;
    const deviceId = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).deviceId : undefined;
    this.limiter.take(request.ip, deviceId);
    return true;
  }
}
