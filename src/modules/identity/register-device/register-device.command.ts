import { Command } from '@nestjs/cqrs';
import type { DeviceSession } from '../tokens/device-session';

/**
 * Opens an account for a device: binds `device-<deviceHash>` to a new subject (unique across
 * instances), then opens `subject-<id>` with the registration and its age basis. A retry with the
 * same Idempotency-Key and body answers the first subject with a fresh token and appends nothing.
 */
export class RegisterDeviceCommand extends Command<DeviceSession> {
  constructor(
    readonly deviceId: string,
    /** Never logged, never stored: only its scrypt hash is. */
    readonly deviceSecret: string,
    readonly isAdult: boolean,
    readonly guardianConsent: boolean | undefined,
    readonly requestId: string,
    readonly idempotencyKey: string | undefined,
  ) {
    super();
  }
}
