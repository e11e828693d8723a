import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthGuard } from './common/auth/auth.guard';
import { ProblemFilter } from './common/errors/problem.filter';
import type { Clock } from './modules/clock/clock.port';
import { AppConfig } from './modules/config/app-config';
import { AuditModule } from './modules/audit/audit.module';
import { ConfigModule } from './modules/config/config.module';
import { ConsentModule } from './modules/consent/consent.module';
import { CryptoModule } from './modules/crypto/crypto.module';
import type { KeyStore } from './modules/crypto/key-store.port';
import { EventStoreModule } from './modules/event-store/event-store.module';
import type { EventStore } from './modules/event-store/event-store.port';
import { FacialDataModule } from './modules/facial-data/facial-data.module';
import { HealthModule } from './modules/health/health.module';
import { IdentityModule } from './modules/identity/identity.module';
import { AppLogger } from './modules/logging/logger';
import { ObjectStorageModule } from './modules/object-storage/object-storage.module';
import type { ObjectStorage } from './modules/object-storage/object-storage.port';
import type { FaceProcessor } from './modules/processing/face-processor.port';
import { ProcessingModule } from './modules/processing/processing.module';
import { SubjectRightsModule } from './modules/subject-rights/subject-rights.module';
import { RetentionModule } from './modules/retention/retention.module';
import { ProjectionsModule } from './projections/projections.module';

/** Replacements for tests: a manual clock, a test double of a dependency, a shared store. */
export interface AppOverrides {
  readonly clock?: Clock;
  readonly logger?: AppLogger;
  readonly eventStore?: EventStore;
  readonly objectStorage?: ObjectStorage;
  readonly keyStore?: KeyStore;
  readonly faceProcessor?: FaceProcessor;
  /** Off in tests that drive the scheduler by hand. Default on. */
  readonly schedulers?: boolean;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, overrides: AppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, { clock: overrides.clock, logger: overrides.logger, schedulers: overrides.schedulers }),
        EventStoreModule.forRoot(overrides.eventStore),
        CryptoModule.forRoot(overrides.keyStore),
        ObjectStorageModule.forRoot(overrides.objectStorage),
        ProcessingModule.forRoot(overrides.faceProcessor),
        ProjectionsModule.forRoot(),
        CqrsModule.forRoot(),
        ScheduleModule.forRoot(),
        IdentityModule,
        ConsentModule,
        HealthModule,
        AuditModule,
        FacialDataModule,
        RetentionModule,
        SubjectRightsModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, inject: [AppLogger], useFactory: (logger: AppLogger) => new ProblemFilter(logger) },
      ],
    };
  }
}
