import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { unauthorized } from '../errors/domain-error';
import type { Audience, Principal, StaffPrincipal, SubjectPrincipal } from './principal';

export const AUDIENCE_KEY = 'photo-memory:audience';

/** Who may call this route (class or method). Routes without it are refused to everyone. */
export const Audiences = (...audiences: Audience[]) => SetMetadata(AUDIENCE_KEY, audiences);
export const Public = () => Audiences('public');
export const SubjectOnly = () => Audiences('subject');
export const AuditorOnly = () => Audiences('auditor');
export const DpoOnly = () => Audiences('dpo');

export interface AuthenticatedRequest extends FastifyRequest {
  principal?: Principal;
}

export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const request = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
  if (!request.principal) throw unauthorized();
  return request.principal;
});

export const CurrentSubject = createParamDecorator((_data: unknown, ctx: ExecutionContext): SubjectPrincipal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal || principal.kind !== 'subject') throw unauthorized();
  return principal;
});

export const CurrentStaff = createParamDecorator((_data: unknown, ctx: ExecutionContext): StaffPrincipal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal || principal.kind !== 'staff') throw unauthorized();
  return principal;
});
