/** Base class of every error the crypto module throws on purpose. Messages never hold key material. */
export abstract class CryptoError extends Error {
  abstract readonly code: string;
}

/**
 * The subject's data key was destroyed (crypto-shredding), or never existed where one is needed to
 * decrypt. An erased subject never gets a fresh key.
 */
export class SubjectKeyDestroyedError extends CryptoError {
  readonly code = 'SUBJECT_KEY_DESTROYED';
  constructor(
    readonly subjectId: string,
    message = `The data key of subject ${subjectId} was destroyed`,
  ) {
    super(message);
    this.name = 'SubjectKeyDestroyedError';
  }
}

/** Ciphertext, tag, associated data or format do not check out: tampering, a moved blob or a wrong key. */
export class DecryptionFailedError extends CryptoError {
  readonly code = 'DECRYPTION_FAILED';
  constructor(message = 'Decryption failed: the data was altered, moved or encrypted under another key') {
    super(message);
    this.name = 'DecryptionFailedError';
  }
}

/** A wrapped data key names a master key this instance does not have (wrong or missing MASTER_KEY). */
export class UnknownMasterKeyError extends CryptoError {
  readonly code = 'UNKNOWN_MASTER_KEY';
  constructor(
    readonly subjectId: string,
    readonly masterKeyId: string,
  ) {
    super(
      `The data key of subject ${subjectId} is wrapped by master key ${masterKeyId}, which is not configured ` +
        '(check MASTER_KEY, or pass the old key as a previous master key after a rotation)',
    );
    this.name = 'UnknownMasterKeyError';
  }
}

/** The key store cannot be reached, is closed, or failed to complete an operation: callers answer 503. */
export class KeyStoreUnavailableError extends CryptoError {
  readonly code = 'KEY_STORE_UNAVAILABLE';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'KeyStoreUnavailableError';
  }
}

/** A subject id that cannot be used in a stream name or as associated data. */
export class InvalidSubjectIdError extends CryptoError {
  readonly code = 'INVALID_SUBJECT_ID';
  constructor() {
    super('Invalid subject id: expected 1-128 characters from [A-Za-z0-9._-]');
    this.name = 'InvalidSubjectIdError';
  }
}
