import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KEY_LENGTH } from './aes-gcm';

/** The key that wraps every subject data key. `keyId` is a short, non-secret fingerprint. */
export interface MasterKey {
  readonly key: Buffer;
  readonly keyId: string;
}

export interface LoadedMasterKey extends MasterKey {
  /** Where the key came from: the MASTER_KEY setting, the key file, or a key generated now. */
  readonly source: 'env' | 'file' | 'generated';
}

export interface LoadMasterKeyOptions {
  /** Base64 of 32 bytes, from the MASTER_KEY setting. */
  readonly masterKey?: string;
  readonly dataDir: string;
  readonly warn: (message: string) => void;
}

export const MASTER_KEY_FILE = 'master.key';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/** The fingerprint recorded next to every wrapped key, to pick the right master key after a rotation. */
export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update('photo-memory/master-key-id/v1\0').update(key).digest('hex').slice(0, 16);
}

/** Builds a MasterKey from raw bytes (exactly 32). */
export function masterKeyFromBytes(key: Buffer): MasterKey {
  if (!Buffer.isBuffer(key) || key.length !== KEY_LENGTH) {
    throw new RangeError(`A master key must be exactly ${KEY_LENGTH} bytes`);
  }
  return { key: Buffer.from(key), keyId: masterKeyId(key) };
}

/** Decodes base64 of exactly 32 bytes; `origin` names the setting or file in the error (never the value). */
export function decodeMasterKey(encoded: string, origin: string): Buffer {
  const text = encoded.trim();
  if (text.length === 0) {
    throw new Error(`${origin} is empty: expected the base64 encoding of ${KEY_LENGTH} random bytes`);
  }
  if (!BASE64.test(text)) {
    throw new Error(`${origin} is not valid base64: expected the base64 encoding of ${KEY_LENGTH} random bytes`);
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_LENGTH) {
    throw new Error(`${origin} must decode to exactly ${KEY_LENGTH} bytes, got ${key.length}`);
  }
  return key;
}

/**
 * Loads the master key: from MASTER_KEY when set (validated), else from `DATA_DIR/master.key`,
 * generating that file on first start (mode 0600, created atomically and exclusively so that two
 * processes starting together end up with the same key) and warning that production must set
 * MASTER_KEY.
 */
export function loadMasterKey(options: LoadMasterKeyOptions): LoadedMasterKey {
  if (options.masterKey !== undefined) {
    return { ...masterKeyFromBytes(decodeMasterKey(options.masterKey, 'MASTER_KEY')), source: 'env' };
  }
  const file = path.join(options.dataDir, MASTER_KEY_FILE);
  const existing = readKeyFile(file);
  if (existing) return { ...masterKeyFromBytes(existing), source: 'file' };

  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const generated = randomBytes(KEY_LENGTH);
  if (createKeyFileExclusively(file, generated)) {
    options.warn(
      `No MASTER_KEY set: generated a new master key in ${file}. ` +
        'This is for development only; production must set MASTER_KEY (base64 of 32 bytes) from a secret store.',
    );
    return { ...masterKeyFromBytes(generated), source: 'generated' };
  }
  // Another process created the file first: use its key.
  const theirs = readKeyFile(file);
  if (!theirs) throw new Error(`${file} disappeared while the master key was being created`);
  return { ...masterKeyFromBytes(theirs), source: 'file' };
}

function readKeyFile(file: string): Buffer | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return decodeMasterKey(text, `The master key file ${file}`);
}

/**
 * Writes the key to a private temporary file, then hard-links it to the final name: link() fails
 * when the name exists, so exactly one process wins and nobody ever reads a half-written file.
 * Returns false when another process won.
 */
function createKeyFileExclusively(file: string, key: Buffer): boolean {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(temporary, 'wx', 0o600);
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeFileSync(fd, `${key.toString('base64')}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  syncDirectory(path.dirname(file));
  return true;
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the file itself is already synced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
