import { Global, Module, type DynamicModule } from '@nestjs/common';
import { Clock, SystemClock } from '../clock/clock.port';
import { AppLogger, createRootLogger, PinoAppLogger } from '../logging/logger';
import { AppConfig } from './app-config';

/** Process-level switches that are not configuration (tests turn schedulers off and drive sweeps by hand). */
export class RuntimeOptions {
  constructor(readonly schedulersEnabled: boolean) {}
}

/** Provides the validated config, the clock and the logger to every module. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, overrides: { clock?: Clock; logger?: AppLogger; schedulers?: boolean } = {}): DynamicModule {
    const logger = overrides.logger ?? new PinoAppLogger(createRootLogger(config.logLevel));
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: Clock, useValue: overrides.clock ?? new SystemClock() },
        { provide: AppLogger, useValue: logger },
        { provide: RuntimeOptions, useValue: new RuntimeOptions(overrides.schedulers !== false) },
      ],
      exports: [AppConfig, Clock, AppLogger, RuntimeOptions],
    };
  }
}
