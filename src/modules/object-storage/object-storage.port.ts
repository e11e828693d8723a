/**
 * The ObjectStorage port. Bytes reaching it are already encrypted with the subject's data key
 * (see the crypto module); the adapters add transport and at-rest protection of their own.
 *
 * Keys are `originals/<subjectId>/<imageId>`, `tmp/<subjectId>/<jobId>/<name>`,
 * `artworks/<subjectId>/<artworkId>`, `exports/<subjectId>/<exportId>`: UUIDs only, never
 * personal data. One contract suite (`test/contract/object-storage.contract.ts`) runs against
 * every adapter.
 */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface PutObjectOptions {
  readonly contentType?: string;
}

/** A lifecycle rule: objects under `prefix` expire after `days` whole days (OSS only). */
export interface LifecycleRule {
  readonly id: string;
  readonly prefix: string;
  readonly days: number;
}

export abstract class ObjectStorage {
  /** A short name for logs and disclosures: 'filesystem' or 'ali-oss'. */
  abstract readonly kind: string;

  /** Atomic: readers see the old object, or none, or the whole new one. */
  abstract put(key: string, body: Buffer, options?: PutObjectOptions): Promise<void>;

  /** Throws ObjectNotFoundError when absent. */
  abstract get(key: string): Promise<Buffer>;

  /** Null when absent. */
  abstract head(key: string): Promise<ObjectInfo | null>;

  /** Succeeds when the object is already gone. */
  abstract delete(key: string): Promise<void>;

  /** Deletes many keys (batched by the adapter); succeeds for keys already gone. */
  abstract deleteMany(keys: readonly string[]): Promise<void>;

  /** Every object whose key starts with `prefix`, lazily, in key order. */
  abstract list(prefix: string): AsyncIterable<ObjectInfo>;

  /**
   * Ensures the lifecycle rules exist (OSS bucket lifecycle). Returns false when the adapter has
   * no such mechanism (the filesystem), true when the rules are in place.
   */
  abstract ensureLifecycleRules(rules: readonly LifecycleRule[]): Promise<boolean>;

  /** Resolves when the storage answers; rejects with ObjectStorageUnavailableError otherwise. */
  abstract checkHealth(): Promise<void>;

  /**
   * Removes what writes interrupted by a crash left behind under `prefix` (partial files that never
   * became an object), older than `olderThan`; answers how many. Never touches an object. Storages
   * whose puts are atomic on the server side (OSS) have nothing to remove: the default.
   */
  async removeAbandonedWrites(_prefix: string, _olderThan: Date): Promise<number> {
    return 0;
  }
}

export class ObjectNotFoundError extends Error {
  readonly code = 'OBJECT_NOT_FOUND';
  constructor(readonly key: string) {
    super(`Object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** The storage failed or could not be reached after retries: callers answer 503. */
export class ObjectStorageUnavailableError extends Error {
  readonly code = 'OBJECT_STORAGE_UNAVAILABLE';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ObjectStorageUnavailableError';
  }
}

export class InvalidObjectKeyError extends Error {
  readonly code = 'INVALID_OBJECT_KEY';
  constructor(readonly key: string) {
    super(`Invalid object key`);
    this.name = 'InvalidObjectKeyError';
  }
}

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/;

/** Keys are relative, slash-separated, of safe characters, with no `.`/`..` segment. */
export function assertValidObjectKey(key: string): void {
  if (key.length === 0 || key.length > 512 || !KEY_PATTERN.test(key) || key.split('/').some((s) => s === '.' || s === '..')) {
    throw new InvalidObjectKeyError(key);
  }
}
