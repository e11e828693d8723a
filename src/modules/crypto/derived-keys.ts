import { createHmac, hkdfSync } from 'node:crypto';
import type { MasterKey } from './master-key';

/**
 * Keys derived from the master key (HKDF-SHA256), so every instance sharing MASTER_KEY agrees on
 * them without more configuration: the access-token signing key, and the key of the device-id
 * hash that names `device-<hash>` streams (a keyed hash: the stream name reveals nothing).
 */
export class DerivedKeys {
  readonly tokenSigningKey: Buffer;
  private readonly deviceHashKey: Buffer;

  constructor(masterKey: MasterKey) {
    this.tokenSigningKey = Buffer.from(hkdfSync('sha256', masterKey.key, Buffer.alloc(0), 'photo-memory/access-token-signing/v1', 32));
    this.deviceHashKey = Buffer.from(hkdfSync('sha256', masterKey.key, Buffer.alloc(0), 'photo-memory/device-id-hash/v1', 32));
  }

  /** HMAC-SHA256 of the device id, hex: stable, not reversible without the master key. */
  deviceHash(deviceId: string): string {
    return createHmac('sha256', this.deviceHashKey).update(deviceId, 'utf8').digest('hex');
  }
}
