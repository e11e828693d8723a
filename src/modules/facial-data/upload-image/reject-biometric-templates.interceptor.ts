import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { unprocessable } from '../../../common/errors/domain-error';
import { findBiometricTemplateFields } from '../image-inspection/face-boxes';

const MAX_REPORTED = 10;
const MAX_PATH_LENGTH = 120;

/**
 * Refuses any body carrying a biometric template / embedding / descriptor / landmark field, at any
 * depth, with 422 BIOMETRIC_TEMPLATE_REJECTED. It runs on the raw parsed body before the
 * validation pipe, so such a field is a policy refusal, not merely an "unknown field" (400).
 * The answer names the offending key paths (client-chosen names, never values).
 */
@Injectable()
export class RejectBiometricTemplatesInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body = context.switchToHttp().getRequest<FastifyRequest>().body;
    const hits = findBiometricTemplateFields(body);
    if (hits.length > 0) {
      const fields = hits.slice(0, MAX_REPORTED).map((path) => (path.length > MAX_PATH_LENGTH ? `${path.slice(0, MAX_PATH_LENGTH)}…` : path));
      throw unprocessable(
        'BIOMETRIC_TEMPLATE_REJECTED',
        'Biometric templates, embeddings, descriptors and landmark vectors are never accepted; send face boxes (x, y, width, height) only',
        { fields },
      );
    }
    return next.handle();
  }
}
