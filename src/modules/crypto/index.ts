export * from './crypto.errors';
export { encryptBytes, decryptBytes, ENVELOPE_VERSION, ENVELOPE_OVERHEAD } from './envelope-cipher';
export { encryptField, decryptField, isEncryptedField, SHREDDED, type EncryptedField } from './field-cipher';
export {
  loadMasterKey,
  masterKeyFromBytes,
  masterKeyId,
  decodeMasterKey,
  MASTER_KEY_FILE,
  type MasterKey,
  type LoadedMasterKey,
  type LoadMasterKeyOptions,
} from './master-key';
export { KeyStore, DATA_KEY_ALGORITHM } from './key-store.port';
export { DEFAULT_KEY_CACHE_SIZE, type KeyStoreOptions } from './caching-key-store';
export { SqliteKeyStore, KEYS_DB_FILE, type SqliteKeyStoreOptions } from './sqlite/sqlite-key-store';
export {
  EventStoreKeyStore,
  SUBJECT_KEY_CREATED,
  SUBJECT_KEY_STREAM_PREFIX,
  subjectKeyStream,
  type EventStoreKeyStoreOptions,
  type SubjectKeyCreatedData,
} from './eventstore/event-store-key-store';
export { SubjectCipher } from './subject-cipher';
