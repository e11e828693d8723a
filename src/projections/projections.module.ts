import { Global, Inject, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../modules/config/app-config';
import { EventStore } from '../modules/event-store/event-store.port';
import { AppLogger } from '../modules/logging/logger';
import { ALL_PROJECTIONS } from './index';
import { ProjectionRunner } from './projection-runner';
import { openReadModels } from './initial-build';
import { WalCheckpointer } from './wal-checkpointer';
import { ReadModels } from './read-models';
import { walPages } from './read-model-database';

class ProjectionLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly checkpointer: WalCheckpointer | null;

  constructor(
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(ReadModels) private readonly readModels: ReadModels,
  ) {
    const db = readModels.db;
    this.checkpointer = db.memory ? null : new WalCheckpointer(db.name);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.checkpointer) {
      // Checkpoints of the read models on a thread of their own (their fsyncs off the event loop);
      // the connection's automatic checkpoint stays as a backstop only.
      this.checkpointer.start();
      this.readModels.db.pragma(`wal_autocheckpoint = ${walPages(this.readModels.db, WalCheckpointer.backstopBytes)}`);
    }
    this.runner.start();
    // Serve requests only once the views reflect the log (bounded wait; readiness says the rest).
    await this.runner.waitUntilCaughtUp(120_000).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.close();
    await this.checkpointer?.close();
    this.readModels.db.close();
  }
}

/** This instance's read models, fed from $all by the projection runner. */
@Global()
@Module({})
export class ProjectionsModule {
  static forRoot(): DynamicModule {
    return {
      module: ProjectionsModule,
      providers: [
        {
          provide: ReadModels,
          inject: [AppConfig, EventStore, AppLogger],
          // A missing file is built from the log in bulk first (see initial-build.ts).
          useFactory: async (config: AppConfig, store: EventStore, logger: AppLogger) =>
            new ReadModels((await openReadModels(config.readModelsFile, store, ALL_PROJECTIONS, { log: logger.root.child({ component: 'projections' }) })).db),
        },
        {
          provide: ProjectionRunner,
          inject: [EventStore, ReadModels, AppLogger],
          useFactory: (store: EventStore, readModels: ReadModels, logger: AppLogger) =>
            new ProjectionRunner(store, readModels.db, ALL_PROJECTIONS, logger.root.child({ component: 'projections' })),
        },
        ProjectionLifecycle,
      ],
      exports: [ReadModels, ProjectionRunner],
    };
  }
}
