import { Worker } from 'node:worker_threads';

/**
 * Checkpoints a WAL-mode SQLite file from a worker thread of its own, so that the connection on
 * the event loop never does. A checkpoint copies the WAL back into the database and fsyncs both:
 * done by the writing connection (SQLite's automatic checkpoint, every 1000 pages by default), it
 * blocks the event loop for the fsyncs, in the middle of whichever commit crossed the threshold.
 * Measured under the content-read load of `npm run bench:api`: the read-model commits took 1.38 s
 * of the event loop per 20k reads with automatic checkpoints, 0.58 s without.
 *
 * The worker's own connection runs a PASSIVE checkpoint every `intervalMs` (never waiting for a
 * lock: what it cannot copy now it copies next time); once the whole WAL is copied, the next write
 * starts the WAL again from its beginning, so it stays small. The event-loop connection keeps an
 * automatic checkpoint as a backstop only (`backstopBytes`), in case this thread is gone.
 */
export class WalCheckpointer {
  private worker: Worker | null = null;

  constructor(
    private readonly file: string,
    private readonly options: { readonly intervalMs?: number; readonly synchronous?: 'NORMAL' | 'FULL' } = {},
  ) {}

  /** Automatic checkpoint to leave on the writing connection while this runs, in WAL bytes (walPages). */
  static readonly backstopBytes = 81_920_000;

  start(): void {
    if (this.worker) return;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), file: this.file, intervalMs: this.options.intervalMs ?? 250, synchronous: this.options.synchronous ?? 'NORMAL' },
    });
    worker.unref();
    // A failure here only means the backstop checkpoints take over; nothing to report to callers.
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
    });
    this.worker = worker;
  }

  get running(): boolean {
    return this.worker !== null;
  }

  /** Stops the thread (a last checkpoint first) and closes its connection. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage('close');
    });
    await worker.terminate();
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 0');
db.pragma('synchronous = ' + (workerData.synchronous === 'FULL' ? 'FULL' : 'NORMAL'));
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy, or the file went away: try again next time.
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  process.exit(0);
});
`;
