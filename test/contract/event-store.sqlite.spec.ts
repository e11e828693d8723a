import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { eventStoreContract } from './event-store.contract';

eventStoreContract('SqliteEventStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'event-store-sqlite-contract-'));
  const clock = new ManualClock();
  const store = new SqliteEventStore({ file: join(dir, 'events.sqlite'), clock, pollIntervalMs: 50 });
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
