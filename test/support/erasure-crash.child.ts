/**
 * Child process of test/e2e/erasure.crash.e2e.spec.ts (run from dist/ after the build):
 *
 *   node dist/test/support/erasure-crash.child.js <dataDir> <accessToken> <killPoint> <nowIso>
 *
 * Boots the whole service on <dataDir> (embedded stores, the clock fixed at <nowIso>), then sends
 * DELETE /v1/me with the token. One port is made to stop dead at <killPoint>, so the parent can
 * SIGKILL the process at an exact step of the erasure:
 * - `object-deleted`: right after the first object of the subject is deleted, before its event;
 * - `key-destroy`: when the data key is about to be destroyed (everything before it is done);
 * - `receipt`: when SubjectErased is about to be appended (the key is already destroyed).
 * It prints `READY` once booted and `HUNG <killPoint>` when it stops; it never finishes on its own.
 */
import { ManualClock } from '../../src/modules/clock/clock.port';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/modules/config/app-config';
import { KeyStore } from '../../src/modules/crypto/key-store.port';
import { EventStore, type EventToAppend, type ExpectedRevision } from '../../src/modules/event-store/event-store.port';
import { ObjectStorage } from '../../src/modules/object-storage/object-storage.port';

export const KILL_POINTS = ['object-deleted', 'key-destroy', 'receipt'] as const;
export type KillPoint = (typeof KILL_POINTS)[number];

const forever = new Promise<never>(() => undefined);

function hang(point: KillPoint): Promise<never> {
  process.stdout.write(`HUNG ${point}\n`);
  return forever;
}

async function main(): Promise<void> {
  const [dataDir, token, point, now] = process.argv.slice(2);
  if (!dataDir || !token || !(KILL_POINTS as readonly string[]).includes(point) || !now) {
    throw new Error('usage: erasure-crash.child.js <dataDir> <accessToken> <object-deleted|key-destroy|receipt> <nowIso>');
  }
  const giveUp = setTimeout(() => process.exit(3), 60_000);
  giveUp.unref();
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', RATE_LIMIT_SUBJECT_PER_MINUTE: '100000', RATE_LIMIT_AUTH_PER_MINUTE: '100000' });
  const app = await createApp(config, { clock: new ManualClock(now), schedulers: false });

  // The same singletons every module uses: stop one of them dead at the chosen step.
  if (point === 'object-deleted') {
    const storage = app.get(ObjectStorage);
    const remove = storage.delete.bind(storage);
    storage.delete = async (key: string) => {
      await remove(key);
      return hang('object-deleted');
    };
  } else if (point === 'key-destroy') {
    const keys = app.get(KeyStore);
    keys.destroy = () => hang('key-destroy');
  } else {
    const store = app.get(EventStore);
    const append = store.append.bind(store);
    store.append = (stream: string, events: readonly EventToAppend[], expected: ExpectedRevision) =>
      events.some((event) => event.type === 'SubjectErased') ? hang('receipt') : append(stream, events, expected);
  }

  process.stdout.write('READY\n');
  const reply = await app.getHttpAdapter().getInstance().inject({ method: 'DELETE', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
  process.stdout.write(`DONE ${reply.statusCode}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(2);
});
