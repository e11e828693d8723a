/**
 * A lane of the initial read-model build (see initial-build.ts) on a worker thread: opens the
 * embedded store's file with a connection of its own, builds the projections it is given (by
 * name, from ALL_PROJECTIONS) into its own file, and reports progress, then `done` or `failed`.
 * The thread that started it copies the lane's tables into the read-model file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SystemClock } from '../modules/clock/clock.port';
import { SqliteEventStore } from '../modules/event-store/sqlite/sqlite-event-store';
import { ALL_PROJECTIONS } from './index';
import { buildFromLog, openBuildDatabase, SCAN_CACHE_KIB, type LaneMessage, type LaneTask } from './initial-build';

async function runLane(task: LaneTask, post: (message: LaneMessage) => void): Promise<void> {
  const projections = task.projections.map((name) => {
    const projection = ALL_PROJECTIONS.find((p) => p.name === name);
    if (!projection) throw new Error(`unknown projection ${name}`);
    return projection;
  });
  const store = new SqliteEventStore({ file: task.eventStoreFile, clock: new SystemClock(), cacheKiB: SCAN_CACHE_KIB });
  let events: number;
  try {
    const db = openBuildDatabase(task.file, task.cacheKiB);
    try {
      ({ events } = await buildFromLog(db, store, projections, task.transactionEvents, (position) => post({ type: 'progress', position })));
    } finally {
      db.close();
    }
  } finally {
    await store.close();
  }
  // Only now: the file's exclusive lock went with its connection, so the caller can attach it.
  post({ type: 'done', events });
}

const port = parentPort;
if (port) {
  runLane(workerData as LaneTask, (message) => port.postMessage(message)).catch((error: unknown) => {
    const e = error as { name?: unknown; message?: unknown; code?: unknown };
    port.postMessage({
      type: 'failed',
      name: typeof e?.name === 'string' ? e.name : 'Error',
      message: typeof e?.message === 'string' ? e.message : String(error),
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    } satisfies LaneMessage);
  });
}
