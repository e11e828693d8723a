/**
 * A projection runner in a process of its own, for crash and concurrency tests:
 *
 *   node dist/test/support/projection-catch-up.child.js <events.db> <readmodels.db> [--rebuild] [--tx-events N] [--initial-build]
 *
 * With --initial-build the file is opened as the service opens it (openReadModels: a missing file
 * is built from the log in bulk first, `committed <events>` printed after each build commit).
 * Catches every projection of ALL_PROJECTIONS up with the embedded store's log (after dropping them
 * all with --rebuild), printing `committed <position>` after every commit and `caught-up <position>`
 * at the end, then exits 0. The tests SIGKILL it in the middle.
 */
import { SystemClock } from '../../src/modules/clock/clock.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { ALL_PROJECTIONS } from '../../src/projections';
import { openReadModels } from '../../src/projections/initial-build';
import { ProjectionRunner } from '../../src/projections/projection-runner';
import { openReadModelDatabase } from '../../src/projections/read-model-database';

async function main(): Promise<void> {
  const [eventsFile, readModelsFile] = process.argv.slice(2, 4);
  const rebuild = process.argv.includes('--rebuild');
  const txIndex = process.argv.indexOf('--tx-events');
  const txEvents = txIndex >= 0 ? Number(process.argv[txIndex + 1]) : undefined;
  const store = new SqliteEventStore({ file: eventsFile, clock: new SystemClock(), pollIntervalMs: 20 });
  const db = process.argv.includes('--initial-build')
    ? (await openReadModels(readModelsFile, store, ALL_PROJECTIONS, { transactionEvents: txEvents, onProgress: (events) => process.stdout.write(`committed ${events}\n`) })).db
    : openReadModelDatabase(readModelsFile);
  const runner = new ProjectionRunner(store, db, ALL_PROJECTIONS, undefined, { catchUpTransactionEvents: txEvents, catchUpTransactionMs: 60_000 });
  if (rebuild) await runner.rebuild();
  runner.onEvents((events) => {
    process.stdout.write(`committed ${events[events.length - 1].position.commit}\n`);
  });
  runner.start();
  await runner.waitUntilCaughtUp(3_600_000);
  process.stdout.write(`caught-up ${runner.status().checkpoint?.commit ?? 'none'}\n`);
  await runner.close();
  db.close();
  await store.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`child failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
