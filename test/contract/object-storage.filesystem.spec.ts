import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemObjectStorage } from '../../src/modules/object-storage/filesystem/filesystem-object-storage';
import { objectStorageContract } from './object-storage.contract';

objectStorageContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'object-storage-contract-'));
  return {
    storage: new FilesystemObjectStorage({ root: join(dir, 'objects') }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
