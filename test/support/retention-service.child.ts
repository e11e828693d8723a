/**
 * Child process of test/retention/crash-after-delete.spec.ts (run from dist/ after the build):
 *
 *   node dist/test/support/retention-service.child.js
 *
 * The whole service exactly as main.ts builds it (configuration from the environment, schedulers
 * on), listening on PORT (0: a free one), printing `LISTENING <url>` once it serves.
 *
 * TEST HOOK, read only here, never by the service: with RETENTION_TEST_CRASH_AFTER_DELETE=1 the
 * object storage is wrapped so that the process SIGKILLs itself right after the first object under
 * `originals/` has been deleted, i.e. between the retention sweep's object deletion and the
 * append of its ImageDeleted event.
 */
import 'reflect-metadata';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/modules/config/app-config';
import { createObjectStorage } from '../../src/modules/object-storage/object-storage.module';
import { ObjectStorage, type LifecycleRule, type ObjectInfo, type PutObjectOptions } from '../../src/modules/object-storage/object-storage.port';

/** Delegates everything; dies (SIGKILL, no clean-up at all) right after deleting an original. */
class CrashAfterOriginalDeleteHook extends ObjectStorage {
  readonly kind: string;
  constructor(private readonly inner: ObjectStorage) {
    super();
    this.kind = inner.kind;
  }
  put(key: string, body: Buffer, options?: PutObjectOptions): Promise<void> {
    return this.inner.put(key, body, options);
  }
  get(key: string): Promise<Buffer> {
    return this.inner.get(key);
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }
  async delete(key: string): Promise<void> {
    await this.inner.delete(key);
    if (key.startsWith('originals/')) await this.crash(key);
  }
  /** The retention sweep deletes a page's objects as one batch, then records each deletion. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    await this.inner.deleteMany(keys);
    const original = keys.find((key) => key.startsWith('originals/'));
    if (original) await this.crash(original);
  }
  private async crash(key: string): Promise<never> {
    process.stdout.write(`CRASHING after deleting ${key}\n`, () => process.kill(process.pid, 'SIGKILL'));
    return new Promise<never>(() => undefined); // never returns: the append must not happen
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  ensureLifecycleRules(rules: readonly LifecycleRule[]): Promise<boolean> {
    return this.inner.ensureLifecycleRules(rules);
  }
  checkHealth(): Promise<void> {
    return this.inner.checkHealth();
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const crashHook = process.env.RETENTION_TEST_CRASH_AFTER_DELETE === '1';
  const objectStorage = crashHook ? new CrashAfterOriginalDeleteHook(createObjectStorage(config)) : undefined;
  const app = await createApp(config, objectStorage ? { objectStorage } : {});
  await app.listen({ port: config.port, host: config.host });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // SIGTERM closes the app (createApp enables Nest's shutdown hooks).
  process.stdout.write(`LISTENING http://${config.host}:${port}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
