/**
 * The projections without HTTP: the embedded event store, real key store and cipher, the typed
 * EventLog, a read-model file and the runner over ALL_PROJECTIONS, plus the history reader.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainEvent } from '../../src/events';
import { SubjectHistoryReader } from '../../src/modules/audit/read-models/subject-history.reader';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { masterKeyFromBytes } from '../../src/modules/crypto/master-key';
import { SqliteKeyStore } from '../../src/modules/crypto/sqlite/sqlite-key-store';
import { SubjectCipher } from '../../src/modules/crypto/subject-cipher';
import { EventLog, type CommandContext } from '../../src/modules/event-store/event-log';
import type { AppendResult } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { createRootLogger, PinoAppLogger } from '../../src/modules/logging/logger';
import { ALL_PROJECTIONS } from '../../src/projections';
import type { Projection } from '../../src/projections/projection';
import { ProjectionRunner } from '../../src/projections/projection-runner';
import { openReadModelDatabase } from '../../src/projections/read-model-database';
import { ReadModels } from '../../src/projections/read-models';

export interface Harness {
  readonly dir: string;
  readonly clock: ManualClock;
  readonly store: SqliteEventStore;
  readonly keys: SqliteKeyStore;
  readonly cipher: SubjectCipher;
  readonly log: EventLog;
  readonly readModels: ReadModels;
  readonly runner: ProjectionRunner;
  readonly reader: SubjectHistoryReader;
  readonly readModelFile: string;
  /** Appends with the given actor; the clock moves one minute first. */
  append(stream: string, actor: CommandContext['actor'], ...events: DomainEvent[]): Promise<AppendResult>;
  /** Waits until the runner has applied the whole log. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(options: { projections?: readonly Projection[]; start?: boolean } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'pm-projections-'));
  const clock = new ManualClock('2026-03-02T02:00:00.000Z');
  const store = new SqliteEventStore({ file: join(dir, 'events.db'), clock, synchronous: 'NORMAL' });
  const keys = new SqliteKeyStore({ dataDir: dir, masterKey: masterKeyFromBytes(randomBytes(32)), clock });
  const cipher = new SubjectCipher(keys);
  const log = new EventLog(store, cipher, clock);
  const readModelFile = join(dir, 'readmodels.db');
  const readModels = new ReadModels(openReadModelDatabase(readModelFile));
  const runner = new ProjectionRunner(store, readModels.db, options.projections ?? ALL_PROJECTIONS);
  const reader = new SubjectHistoryReader(readModels, cipher, new PinoAppLogger(createRootLogger('silent')));
  if (options.start !== false) runner.start();
  let n = 0;
  return {
    dir,
    clock,
    store,
    keys,
    cipher,
    log,
    readModels,
    runner,
    reader,
    readModelFile,
    append: (stream, actor, ...events) => {
      clock.advance(60_000);
      n++;
      return log.append(stream, events, 'any', { actor, correlationId: `corr-${n}`, causationId: null });
    },
    settle: async () => {
      const head = await store.headPosition();
      if (head) await runner.waitFor(head, 20_000);
    },
    close: async () => {
      await runner.close();
      readModels.db.close();
      await store.close();
      await keys.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
