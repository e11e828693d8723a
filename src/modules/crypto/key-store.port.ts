/**
 * The KeyStore port: per-subject 32-byte data keys, stored only wrapped by the master key
 * (AES-256-GCM, AAD = subject id, master key id recorded). Destroying a subject's key is
 * crypto-shredding: every personal field and object encrypted with it becomes unreadable, backups
 * included. A destroyed subject never gets a fresh key.
 *
 * Adapters: `SqliteKeyStore` (embedded default, `DATA_DIR/keys.db`) and `EventStoreKeyStore`
 * (production: one `subjectkey-<subjectId>` stream per subject, shared by every instance).
 * Both cache unwrapped keys in a bounded LRU. One contract suite (`key-store.contract.ts`) runs
 * against both.
 */
export abstract class KeyStore {
  /** The subject's data key, created on first use. Throws SubjectKeyDestroyedError once destroyed. */
  abstract getOrCreate(subjectId: string): Promise<Buffer>;

  /** The subject's data key, or null when it was never created or was destroyed. */
  abstract get(subjectId: string): Promise<Buffer | null>;

  /** Destroys the key for good (idempotent; also works for a key never created). */
  abstract destroy(subjectId: string): Promise<void>;

  abstract isDestroyed(subjectId: string): Promise<boolean>;

  /**
   * Drops the subject from in-memory caches. Call it when another instance erased the subject
   * (on `SubjectErased`), so this one stops using a key it still holds in memory.
   */
  abstract forget(subjectId: string): void;

  /** Resolves when the store answers; rejects with KeyStoreUnavailableError otherwise. */
  abstract checkHealth(): Promise<void>;

  abstract close(): Promise<void>;
}

/** The algorithm of data keys and of their wrapping, as recorded with every wrapped key. */
export const DATA_KEY_ALGORITHM = 'AES-256-GCM';
