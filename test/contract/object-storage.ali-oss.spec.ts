import { AliOssObjectStorage } from '../../src/modules/object-storage/ali-oss/ali-oss-object-storage';
import { OssTestServer } from '../support/oss-test-server/oss-test-server';
import { objectStorageContract } from './object-storage.contract';

const credentials = { accessKeyId: 'LTAI-contract-test', accessKeySecret: 'contract-secret-0123456789', bucket: 'photo-memory-contract', region: 'cn-hangzhou' };

for (const [signature, authorizationV4] of [
  ['V1 signatures', false],
  ['V4 signatures', true],
] as const) {
  objectStorageContract(`ali-oss (${signature}, real ali-oss client against the signature-checking OSS test server)`, async () => {
    const server = await OssTestServer.start(credentials);
    const storage = new AliOssObjectStorage({
      ...credentials,
      endpoint: server.endpoint,
      secure: false,
      pathStyle: true,
      authorizationV4,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 20,
    });
    return {
      storage,
      cleanup: async () => {
        await storage.close();
        await server.close();
      },
    };
  });
}
