/**
 * The event-store contract against the embedded store with its writes on the writer thread (the
 * service's mode when it runs from the build). The thread runs the compiled writer script, so the
 * suite needs the build (`npm test` builds first); without it, it skips itself with a message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { buildProblem } from '../support/service-process';
import { eventStoreContract } from './event-store.contract';

export const WRITER_SCRIPT_SOURCES = [
  'src/modules/event-store/sqlite/sqlite-writer.worker.ts',
  'src/modules/event-store/sqlite/sqlite-writer.ts',
  'src/modules/event-store/sqlite/sqlite-schema.ts',
];
export const WRITER_SCRIPT = join(__dirname, '..', '..', 'dist', 'src', 'modules', 'event-store', 'sqlite', 'sqlite-writer.worker.js');

const problem = buildProblem('dist/src/modules/event-store/sqlite/sqlite-writer.worker.js', WRITER_SCRIPT_SOURCES);

if (problem) {
  describe('SqliteEventStore (writer thread) contract', () => {
    it.skip(`skipped: ${problem}`, () => undefined);
  });
} else {
  eventStoreContract('SqliteEventStore (writer thread)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'event-store-sqlite-thread-contract-'));
    const clock = new ManualClock();
    const store = new SqliteEventStore({ file: join(dir, 'events.sqlite'), clock, pollIntervalMs: 50, writer: 'thread', writerScript: WRITER_SCRIPT });
    return {
      store,
      advanceTime: async (ms: number) => {
        clock.advance(ms);
      },
      teardown: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
