import { Global, Module, type DynamicModule } from '@nestjs/common';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { AliOssObjectStorage } from './ali-oss/ali-oss-object-storage';
import { FilesystemObjectStorage } from './filesystem/filesystem-object-storage';
import { ObjectStorage } from './object-storage.port';

export function createObjectStorage(config: AppConfig): ObjectStorage {
  if (config.oss) {
    return new AliOssObjectStorage({
      region: config.oss.region,
      bucket: config.oss.bucket,
      accessKeyId: config.oss.accessKeyId,
      accessKeySecret: config.oss.accessKeySecret,
      endpoint: config.oss.endpoint,
      serverSideEncryption: config.oss.serverSideEncryption,
      kmsKeyId: config.oss.kmsKeyId,
      authorizationV4: config.oss.authorizationV4,
      secure: config.oss.secure,
      pathStyle: config.oss.pathStyle,
    });
  }
  return new FilesystemObjectStorage({ root: join(config.dataDir, 'objects') });
}

/** Encrypted files under DATA_DIR/objects by default; Alibaba OSS (mainland region, SSE) when configured. */
@Global()
@Module({})
export class ObjectStorageModule {
  static forRoot(override?: ObjectStorage): DynamicModule {
    return {
      module: ObjectStorageModule,
      providers: [{ provide: ObjectStorage, inject: [AppConfig], useFactory: (config: AppConfig) => override ?? createObjectStorage(config) }],
      exports: [ObjectStorage],
    };
  }
}
