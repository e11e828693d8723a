import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { FaceProcessor } from './face-processor.port';
import { HttpFaceProcessor } from './http/http-face-processor';
import { SharpFaceProcessor } from './local/sharp-face-processor';
import { RoutingFaceProcessor } from './routing-face-processor';

export function createFaceProcessor(config: AppConfig): FaceProcessor {
  const local = new SharpFaceProcessor({ concurrency: config.processing.concurrency, maxPixels: config.uploads.maxPixels });
  const remote = config.processing.aiProcessorUrl
    ? new HttpFaceProcessor({ baseUrl: config.processing.aiProcessorUrl, timeoutMs: config.processing.aiProcessorTimeoutMs, token: config.processing.aiProcessorToken })
    : undefined;
  return new RoutingFaceProcessor({ local, remote });
}

/** The local sharp processor, routed to the studio's AI servers for the purposes it cannot honestly do. */
@Global()
@Module({})
export class ProcessingModule {
  static forRoot(override?: FaceProcessor): DynamicModule {
    return {
      module: ProcessingModule,
      providers: [{ provide: FaceProcessor, inject: [AppConfig], useFactory: (config: AppConfig) => override ?? createFaceProcessor(config) }],
      exports: [FaceProcessor],
    };
  }
}
