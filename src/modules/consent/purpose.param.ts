import { Param, type PipeTransform } from '@nestjs/common';
import { unprocessable } from '../../common/errors/domain-error';
import { isPurpose, PURPOSES, type Purpose } from '../../events/purposes';

/** 422 PURPOSE_NOT_ALLOWED unless `value` is one of the six purposes the privacy policy names. */
export function requirePurpose(value: unknown): Purpose {
  if (!isPurpose(value)) throw unprocessable('PURPOSE_NOT_ALLOWED', `purpose must be one of ${PURPOSES.join(', ')}`, { allowed: [...PURPOSES] });
  return value;
}

class PurposePipe implements PipeTransform<unknown, Purpose> {
  transform(value: unknown): Purpose {
    return requirePurpose(value);
  }
}

/** A `{purpose}` path parameter: one of the six purposes, or 422 PURPOSE_NOT_ALLOWED. */
export const PurposeParam = (name = 'purpose') => Param(name, new PurposePipe());
