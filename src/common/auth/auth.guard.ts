import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash } from 'node:crypto';
import { AppConfig, type StaffToken } from '../../modules/config/app-config';
import { Clock } from '../../modules/clock/clock.port';
import { SubjectStatusRegistry } from '../../modules/identity/subject-status.registry';
import { TokenService } from '../../modules/identity/tokens/token.service';
import { forbidden, tooManyRequests, unauthorized } from '../errors/domain-error';
import { RateLimiter } from '../http/rate-limiter';
import { AUDIENCE_KEY, type AuthenticatedRequest } from './auth.decorators';
import type { Audience, Principal } from './principal';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,2048})$/;

/**
 * The global guard. Every route declares its audiences; a route that declares none is refused
 * (fail closed). Subjects authenticate with access tokens, staff with the configured tokens; an
 * erased subject's token is dead at once. Authenticated callers are rate limited per principal.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly staffByHash: Map<string, StaffToken>;
  private readonly limiter: RateLimiter;

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(AppConfig) config: AppConfig,
    @Inject(TokenService) private readonly tokens: TokenService,
    @Inject(SubjectStatusRegistry) private readonly subjects: SubjectStatusRegistry,
    @Inject(Clock) clock: Clock,
  ) {
    this.staffByHash = new Map(config.staffTokens.map((t) => [sha256(t.secret), t]));
    const perMinute = config.http.subjectRateLimitPerMinute;
    this.limiter = new RateLimiter(perMinute, Math.max(perMinute, 10), () => clock.now().getTime());
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const audiences = this.reflector.getAllAndOverride<Audience[] | undefined>(AUDIENCE_KEY, [context.getHandler(), context.getClass()]);
    if (!audiences || audiences.length === 0) throw forbidden('This route is not open to anyone');
    if (audiences.includes('public')) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = await this.authenticate(request.headers.authorization);
    const allowed = principal.kind === 'subject' ? audiences.includes('subject') : audiences.includes(principal.role);
    if (!allowed) throw forbidden(principal.kind === 'subject' ? 'Subject tokens may not use this endpoint' : `The ${principal.role} role may not use this endpoint`);

    const verdict = this.limiter.take(principal.actor);
    if (!verdict.allowed) throw tooManyRequests(verdict.retryAfterSeconds);
    request.principal = principal;
    return true;
  }

  private async authenticate(header: string | undefined): Promise<Principal> {
    if (!header) throw unauthorized();
    const match = BEARER.exec(header);
    if (!match) throw unauthorized('The Authorization header must be "Bearer <token>"');
    const token = match[1];
    const staff = this.staffByHash.get(sha256(token));
    if (staff) return { kind: 'staff', role: staff.role, name: staff.name, actor: `${staff.role}:${staff.name}` };
    const subjectId = await this.tokens.verify(token);
    if (!subjectId) throw unauthorized('The token is invalid or expired');
    if (!this.subjects.isActive(subjectId)) throw unauthorized('The token is invalid or expired');
    return { kind: 'subject', subjectId, actor: `subject:${subjectId}` };
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
