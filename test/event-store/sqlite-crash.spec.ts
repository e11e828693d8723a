/**
 * Crash durability of the embedded event store: a child process appends from 50 concurrent
 * callers and prints every acknowledged append; it is SIGKILLed mid-stream; the file is reopened
 * and must hold every acknowledged append, intact and in order, and keep working.
 *
 * The child runs from the build (`npm test` builds first). Run outside npm test, the spec skips
 * itself with a message when the build is missing or older than the sources.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/modules/clock/clock.port';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import type { CrashAck } from '../support/sqlite-crash-appender.child';

const root = resolve(__dirname, '..', '..');
const child = join(root, 'dist/test/support/sqlite-crash-appender.child.js');

function buildProblem(): string | null {
  if (!existsSync(child)) return `${child} is missing: run \`npm run build\` first (npm test does)`;
  const sources = [
    join(root, 'test/support/sqlite-crash-appender.child.ts'),
    ...readdirSync(join(root, 'src/modules/event-store/sqlite'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
      .map((f) => join(root, 'src/modules/event-store/sqlite', f)),
  ];
  const compiled = (source: string) => join(root, 'dist', source.slice(root.length + 1).replace(/\.ts$/, '.js'));
  const stale = sources.find((source) => !existsSync(compiled(source)) || statSync(compiled(source)).mtimeMs < statSync(source).mtimeMs);
  return stale ? `the build is older than ${stale}: run \`npm run build\` first (npm test does)` : null;
}

const problem = buildProblem();
if (problem) console.warn(`[sqlite-crash.spec] skipped: ${problem}`);

/** Starts the child, waits for `acks` acknowledged appends, SIGKILLs it, returns every complete ACK line. */
function runAndKill(file: string, acks: number, writer: 'inline' | 'thread'): Promise<CrashAck[]> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [child, file, '50', '8', writer], { stdio: ['ignore', 'pipe', 'pipe'] });
    const received: CrashAck[] = [];
    let buffered = '';
    let stderr = '';
    let killed = false;
    const safety = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child produced only ${received.length} acks; stderr: ${stderr}`));
    }, 45_000);
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith('ACK ')) received.push(JSON.parse(line.slice(4)) as CrashAck);
      }
      if (!killed && received.length >= acks) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(safety);
      // A line cut by the kill (no newline) was never acknowledged: `buffered` is dropped.
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (code ${code}); stderr: ${stderr}`));
      else resolvePromise(received);
    });
  });
}

async function readAllEvents(store: SqliteEventStore): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const event of store.readAll()) out.push(event);
  return out;
}

describe.each(['inline', 'thread'] as const)('SqliteEventStore crash durability (writes %s)', (writer) => {
  it.skipIf(problem !== null)(
    problem ? `skipped: ${problem}` : 'keeps every acknowledged append across SIGKILLs of a process appending from 50 callers',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sqlite-crash-'));
      const file = join(dir, 'events.sqlite');
      try {
        const acked: CrashAck[] = [];
        // Two crash cycles: the second one appends to the file the first crash left behind.
        for (const target of [800, 1600]) {
          const received = await runAndKill(file, target - acked.length, writer);
          expect(received.length).toBeGreaterThan(0);
          acked.push(...received);

          const db = new Database(file);
          expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
          db.close();

          const store = new SqliteEventStore({ file, clock: new ManualClock() });
          try {
            const all = await readAllEvents(store);
            for (let i = 1; i < all.length; i++) expect(all[i].position.commit).toBeGreaterThan(all[i - 1].position.commit);

            const byStream = new Map<string, StoredEvent[]>();
            for (const event of all) byStream.set(event.stream, [...(byStream.get(event.stream) ?? []), event]);
            for (const [, events] of byStream) {
              expect(events.map((e) => Number(e.revision))).toEqual(events.map((_, i) => i));
            }

            for (const ack of acked) {
              const stream = byStream.get(ack.stream) ?? [];
              const stored = stream.slice(ack.fromRevision, ack.toRevision + 1);
              expect(stored.map((e) => e.id)).toEqual(ack.events.map((e) => e.id));
              expect(stored.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata }))).toEqual(
                ack.events.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata })),
              );
              expect(Number(stored[stored.length - 1].position.commit)).toBe(ack.position);
            }

            // The store still works: a new stream, and an existing one at its last revision.
            const last = byStream.get('crash-0') ?? [];
            const next = await store.append(
              'crash-0',
              [{ id: randomUUID(), type: 'AfterCrash', data: { ok: true }, metadata: {} }],
              last.length === 0 ? 'no_stream' : BigInt(last.length - 1),
            );
            expect(next.nextExpectedRevision).toBe(BigInt(last.length));
            await store.append(`after-${target}`, [{ id: randomUUID(), type: 'AfterCrash', data: {}, metadata: {} }], 'no_stream');
          } finally {
            await store.close();
          }
        }
        expect(acked.length).toBeGreaterThanOrEqual(1600);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
