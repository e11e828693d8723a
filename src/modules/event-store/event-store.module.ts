import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { Clock } from '../clock/clock.port';
import { SubjectCipher } from '../crypto/subject-cipher';
import { EventLog } from './event-log';
import { EventStore } from './event-store.port';
import { EventStoreDbEventStore } from './eventstoredb/eventstoredb-event-store';
import { SqliteEventStore } from './sqlite/sqlite-event-store';

export function createEventStore(config: AppConfig, clock: Clock): EventStore {
  if (config.eventStore.connectionString) {
    return new EventStoreDbEventStore({
      connectionString: config.eventStore.connectionString,
      adminUrl: config.eventStore.adminUrl,
      adminUsername: config.eventStore.adminUsername,
      adminPassword: config.eventStore.adminPassword,
      maxInFlightAppends: config.eventStore.maxInFlightAppends,
    });
  }
  // From the build, write transactions run on the store's writer thread (a commit's fsync never
  // blocks the event loop); from TypeScript sources (the test runner) they run inline, same code.
  return new SqliteEventStore({ file: join(config.dataDir, 'events.db'), clock, writer: SqliteEventStore.threadWriterAvailable() ? 'thread' : 'inline' });
}

class EventStoreCloser implements OnApplicationShutdown {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** The EventStore port (SQLite by default, EventStoreDB when configured) and the typed EventLog over it. */
@Global()
@Module({})
export class EventStoreModule {
  static forRoot(override?: EventStore): DynamicModule {
    return {
      module: EventStoreModule,
      providers: [
        { provide: EventStore, inject: [AppConfig, Clock], useFactory: (config: AppConfig, clock: Clock) => override ?? createEventStore(config, clock) },
        { provide: EventLog, inject: [EventStore, SubjectCipher, Clock], useFactory: (store: EventStore, cipher: SubjectCipher, clock: Clock) => new EventLog(store, cipher, clock) },
        ...(override ? [] : [EventStoreCloser]),
      ],
      exports: [EventStore, EventLog],
    };
  }
}
