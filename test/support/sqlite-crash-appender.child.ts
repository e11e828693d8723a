/**
 * Child process of test/event-store/sqlite-crash.spec.ts (run from dist/ after the build):
 *
 *   node dist/test/support/sqlite-crash-appender.child.js <file> [callers] [streams] [inline|thread]
 *
 * Opens a SqliteEventStore on <file> and runs many concurrent appenders on a few streams, each
 * with exact expected revisions (learning the actual revision from WrongExpectedVersionError).
 * For every acknowledged append it prints one line `ACK <json>` with the stream, the revisions,
 * the position and the full events, so the parent can check after a SIGKILL that every
 * acknowledged append survived with identical content. It runs until killed (or 60 s). The last
 * argument chooses where the store's write transactions run (default inline).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SystemClock } from '../../src/modules/clock/clock.port';
import { WrongExpectedVersionError } from '../../src/modules/event-store/event-store.errors';
import type { EventToAppend, ExpectedRevision } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';

export interface CrashAck {
  readonly stream: string;
  readonly fromRevision: number;
  readonly toRevision: number;
  readonly position: number;
  readonly events: readonly EventToAppend[];
}

async function main(): Promise<void> {
  const [file, callersArg, streamsArg, writerArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: sqlite-crash-appender.child.js <file> [callers] [streams] [inline|thread]');
  const callers = Number(callersArg ?? 50);
  const streams = Number(streamsArg ?? 8);
  const store = new SqliteEventStore({ file, clock: new SystemClock(), writer: writerArg === 'thread' ? 'thread' : 'inline' });
  const known = new Map<string, ExpectedRevision>();
  const giveUp = setTimeout(() => process.exit(3), 60_000);
  giveUp.unref();
  process.stdout.write('READY\n');

  const caller = async (c: number): Promise<never> => {
    const stream = `crash-${c % streams}`;
    for (let seq = 0; ; seq++) {
      const count = 1 + ((c + seq) % 3);
      const events: EventToAppend[] = Array.from({ length: count }, (_, i) => ({
        id: randomUUID(),
        type: i % 2 === 0 ? 'CrashTested' : 'CrashTestedAgain',
        data: { caller: c, seq, i, payload: randomBytes(48).toString('base64'), text: 'héllo ✓', nested: { ok: true, list: [c, seq] } },
        metadata: { actor: 'system:crash-test', correlationId: randomUUID(), causationId: null, schemaVersion: 1 },
      }));
      const expected = known.get(stream) ?? 'no_stream';
      try {
        const result = await store.append(stream, events, expected);
        const toRevision = Number(result.nextExpectedRevision);
        const ack: CrashAck = {
          stream,
          fromRevision: toRevision - count + 1,
          toRevision,
          position: Number(result.position.commit),
          events,
        };
        process.stdout.write(`ACK ${JSON.stringify(ack)}\n`);
        const current = known.get(stream);
        if (current === undefined || current === 'no_stream' || (typeof current === 'bigint' && current < result.nextExpectedRevision)) {
          known.set(stream, result.nextExpectedRevision);
        }
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        known.set(stream, error.actual === 'no_stream' ? 'no_stream' : error.actual);
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
