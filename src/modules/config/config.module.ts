import { Global, Module, type DynamicModule } from '@nestjs/common';
import { Clock, SystemClock } from '../clock/clock.port';
import { AppLogger, createRootLogger, PinoAppLogger } from '../logging/logger';
import { AppConfig } from './app-config';

/** Provides the validated config, the clock and the logger to every module. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, overrides: { clock?: Clock; logger?: AppLogger } = {}): DynamicModule {
    const logger = overrides.logger ?? new PinoAppLogger(createRootLogger(config.logLevel));
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: Clock, useValue: overrides.clock ?? new SystemClock() },
        { provide: AppLogger, useValue: logger },
      ],
      exports: [AppConfig, Clock, AppLogger],
    };
  }
}
