import { createParamDecorator, Param, type ExecutionContext, type PipeTransform } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Base64Text } from './base64-text';
import type { FastifyRequest } from 'fastify';
import type { CommandContext } from '../../modules/event-store/event-log';
import type { Principal } from '../auth/principal';
import { badRequest } from '../errors/domain-error';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The `Idempotency-Key` header (1–128 visible ASCII characters), or undefined. */
export const IdempotencyKey = createParamDecorator((_data: unknown, ctx: ExecutionContext): string | undefined => {
  const value = ctx.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw badRequest('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 128 visible ASCII characters');
  }
  return value;
});

/** The request id (also the correlation id of the events the request appends). */
export const RequestId = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => ctx.switchToHttp().getRequest<FastifyRequest>().id);

class UuidPipe implements PipeTransform<unknown, string> {
  constructor(private readonly name: string) {}
  transform(value: unknown): string {
    if (typeof value !== 'string' || !UUID.test(value)) throw badRequest('INVALID_ID', `${this.name} must be a UUID`);
    return value.toLowerCase();
  }
}

/** A path parameter that must be a UUID (400 INVALID_ID otherwise), lower-cased. */
export const UuidParam = (name: string) => Param(name, new UuidPipe(name));

/** JSON with sorted keys: equal bodies give equal hashes whatever their key order. */
export function canonicalJson(value: unknown): string {
  const parts: (string | Buffer)[] = [];
  writeCanonicalJson(value, (part) => parts.push(part));
  return parts.map((p) => (typeof p === 'string' ? p : p.toString('latin1'))).join('');
}

/**
 * canonicalJson in pieces. A Base64Text is written as the JSON string it stands for, from its
 * bytes (Base64 needs no escaping), so that a large upload's hash never makes a large string.
 */
function writeCanonicalJson(value: unknown, write: (part: string | Buffer) => void): void {
  if (value instanceof Base64Text) {
    write('"');
    write(value.text);
    write('"');
    return;
  }
  if (value === null || typeof value !== 'object') {
    write(JSON.stringify(value) ?? 'null');
    return;
  }
  if (Array.isArray(value)) {
    write('[');
    value.forEach((item, i) => {
      if (i > 0) write(',');
      writeCanonicalJson(item, write);
    });
    write(']');
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  write('{');
  entries.forEach(([k, v], i) => {
    write(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:`);
    writeCanonicalJson(v, write);
  });
  write('}');
}

/** SHA-256 of what identifies a request for Idempotency-Key replays: the operation and its body. */
export function requestHash(operation: string, body: unknown): string {
  const hash = createHash('sha256').update(operation).update('\u0000');
  writeCanonicalJson(body, (part) => hash.update(part));
  return hash.digest('hex');
}

/** The metadata context of the events a request appends. */
export function commandContext(
  principal: Principal,
  requestId: string,
  idempotency?: { key: string | undefined; operation: string; body: unknown },
): CommandContext {
  return {
    actor: principal.actor,
    correlationId: requestId,
    causationId: requestId,
    ...(idempotency?.key ? { idempotency: { key: idempotency.key, requestHash: requestHash(idempotency.operation, idempotency.body) } } : {}),
  };
}
