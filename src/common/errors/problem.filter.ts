import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppLogger } from '../../modules/logging/logger';
import { mapError } from './error-mapping';
import { PROBLEM_CONTENT_TYPE } from './problem';

/** Every error becomes `application/problem+json` with a stable code. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: AppLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    sendProblem(reply, request, exception, this.logger);
  }
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest | undefined, exception: unknown, logger: AppLogger): void {
  const mapped = mapError(exception);
  const log = logger.get();
  if (mapped.unexpected) {
    const err = exception instanceof Error ? { type: exception.name, message: exception.message, stack: exception.stack } : { value: String(exception) };
    log.error({ err, url: request?.routeOptions?.url }, 'request failed');
  } else if (mapped.problem.status >= 500) {
    log.warn({ code: mapped.problem.code, cause: exception instanceof Error ? exception.message : undefined }, 'dependency unavailable');
  }
  if (reply.sent) return;
  if (mapped.retryAfterSeconds !== undefined) void reply.header('Retry-After', String(mapped.retryAfterSeconds));
  void reply.status(mapped.problem.status).header('Content-Type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(mapped.problem));
}
