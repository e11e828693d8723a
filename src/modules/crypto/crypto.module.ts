import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Clock } from '../clock/clock.port';
import { EventStore } from '../event-store/event-store.port';
import { AppLogger } from '../logging/logger';
import { EventStoreKeyStore } from './eventstore/event-store-key-store';
import { KeyStore } from './key-store.port';
import { loadMasterKey, type LoadedMasterKey } from './master-key';
import { DerivedKeys } from './derived-keys';
import { SqliteKeyStore } from './sqlite/sqlite-key-store';
import { SubjectCipher } from './subject-cipher';

export const MASTER_KEY = Symbol('MASTER_KEY');

class KeyStoreCloser implements OnApplicationShutdown {
  constructor(@Inject(KeyStore) private readonly keys: KeyStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.keys.close();
  }
}

/**
 * Per-subject data keys wrapped by the master key: a SQLite table by default, `subjectkey-<id>`
 * streams on EventStoreDB (shared by every instance).
 */
@Global()
@Module({})
export class CryptoModule {
  static forRoot(override?: KeyStore): DynamicModule {
    return {
      module: CryptoModule,
      providers: [
        {
          provide: MASTER_KEY,
          inject: [AppConfig, AppLogger],
          useFactory: (config: AppConfig, logger: AppLogger) =>
            loadMasterKey({ masterKey: config.masterKey, dataDir: config.dataDir, warn: (message) => logger.root.warn(message) }),
        },
        { provide: DerivedKeys, inject: [MASTER_KEY], useFactory: (masterKey: LoadedMasterKey) => new DerivedKeys(masterKey) },
        {
          provide: KeyStore,
          inject: [AppConfig, Clock, MASTER_KEY, EventStore],
          useFactory: (config: AppConfig, clock: Clock, masterKey: LoadedMasterKey, eventStore: EventStore) => {
            if (override) return override;
            return config.usesEventStoreDb
              ? new EventStoreKeyStore({ masterKey, eventStore, clock })
              : new SqliteKeyStore({ masterKey, dataDir: config.dataDir, clock });
          },
        },
        { provide: SubjectCipher, inject: [KeyStore], useFactory: (keys: KeyStore) => new SubjectCipher(keys) },
        ...(override ? [] : [KeyStoreCloser]),
      ],
      exports: [KeyStore, SubjectCipher, DerivedKeys, MASTER_KEY],
    };
  }
}
