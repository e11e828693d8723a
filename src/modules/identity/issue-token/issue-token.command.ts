import { Command } from '@nestjs/cqrs';
import type { DeviceSession } from '../tokens/device-session';

/** Signs a device in: a fresh access token when the secret matches the device's binding. Appends nothing. */
export class IssueTokenCommand extends Command<DeviceSession> {
  constructor(
    readonly deviceId: string,
    /** Never logged, never stored. */
    readonly deviceSecret: string,
  ) {
    super();
  }
}
