import { conflict, DomainError, unprocessable } from '../../common/errors/domain-error';

export const guardianConsentRequired = () =>
  unprocessable('GUARDIAN_CONSENT_REQUIRED', 'A minor may register only with a guardian\'s consent: send isAdult true, or guardianConsent true');

export const deviceAlreadyRegistered = () => conflict('DEVICE_ALREADY_REGISTERED', 'This device is already registered; use POST /v1/devices/token to sign in');

export const idempotencyKeyReused = () => unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request');

/** One answer for a wrong secret, an unknown device and a released one. */
export const invalidCredentials = () => new DomainError('INVALID_CREDENTIALS', 401, 'The device id or device secret is wrong');
