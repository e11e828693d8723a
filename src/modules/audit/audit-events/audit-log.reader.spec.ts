import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticLog } from '../../../../test/support/synthetic-log';
import { SystemClock } from '../../clock/clock.port';
import type { EventStore, ReadAllOptions, StoredEvent } from '../../event-store/event-store.port';
import { SqliteEventStore } from '../../event-store/sqlite/sqlite-event-store';
import { ENCRYPTED_MARKER } from './audit-event-view';
import { auditNdjsonStream, readAuditPage } from './audit-log.reader';
import { formatPosition, parsePosition, tryParsePosition } from './audit-position';

/** The real store, with a count of the events pulled out of readAll and of iterators closed. */
function counted(store: SqliteEventStore): { store: EventStore; pulled: () => number; closed: () => number } {
  let pulled = 0;
  let closed = 0;
  const wrapper = {
    readAll(options?: ReadAllOptions): AsyncIterable<StoredEvent> {
      const inner = store.readAll(options);
      return {
        [Symbol.asyncIterator]() {
          const it = inner[Symbol.asyncIterator]();
          return {
            async next() {
              const r = await it.next();
              if (!r.done) pulled++;
              return r;
            },
            async return() {
              closed++;
              return (await it.return?.()) ?? { done: true, value: undefined };
            },
          };
        },
      };
    },
  };
  return { store: wrapper as unknown as EventStore, pulled: () => pulled, closed: () => closed };
}

describe('audit log reader', () => {
  let dir: string;
  let store: SqliteEventStore;
  const EVENTS = 12_000;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-audit-reader-'));
    writeSyntheticLog(join(dir, 'events.db'), { events: EVENTS, subjects: 500, seed: 9 });
    store = new SqliteEventStore({ file: join(dir, 'events.db'), clock: new SystemClock() });
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('formats positions as "<commit>:<prepare>" and parses them back; anything else is INVALID_POSITION', () => {
    const p = { commit: 18446744073709551615n, prepare: 7n };
    expect(formatPosition(p)).toBe('18446744073709551615:7');
    expect(parsePosition(formatPosition(p))).toEqual(p);
    for (const bad of ['', '12', '1:', ':1', '1:2:3', '-1:1', '1.0:1', '18446744073709551616:0', ' 1:1', '1:1 ']) expect(tryParsePosition(bad)).toBeNull();
    expect(() => parsePosition('x')).toThrow(expect.objectContaining({ code: 'INVALID_POSITION', status: 400 }));
  });

  it('pages: stops at the limit with a position to continue from, null at the end; filters the store cannot apply are applied here', async () => {
    const first = await readAuditPage(store, {}, 'start', 10);
    expect(first.events.map((e) => e.position)).toEqual(Array.from({ length: 10 }, (_, i) => `${i + 1}:${i + 1}`));
    expect(first.nextPosition).toBe('10:10');
    const next = await readAuditPage(store, {}, parsePosition(first.nextPosition as string), 5);
    expect(next.events[0].position).toBe('11:11');

    const subject = first.events.find((e) => typeof e.data.subjectId === 'string')?.data.subjectId as string;
    let from: ReturnType<typeof parsePosition> | 'start' = 'start';
    const mine: string[] = [];
    for (;;) {
      const page = await readAuditPage(store, { subjectId: subject, category: 'image' }, from, 3, 2_000);
      for (const e of page.events) {
        expect(e.stream.startsWith('image-')).toBe(true);
        expect(e.data.subjectId).toBe(subject);
        mine.push(e.position);
      }
      if (page.nextPosition === null) break;
      from = parsePosition(page.nextPosition);
    }
    let expected = 0;
    for await (const e of store.readAll()) if (e.stream.startsWith('image-') && e.data.subjectId === subject) expected++;
    expect(mine).toHaveLength(expected);
    expect(new Set(mine).size).toBe(expected);
  });

  it('streams NDJSON with back-pressure: a consumer that stops reading stops the log reads; the whole log arrives once it reads on', async () => {
    const source = counted(store);
    const stream = auditNdjsonStream(source.store, {});
    let received = '';
    const firstChunk = await new Promise<string>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))));
    stream.pause();
    received += firstChunk;
    // Let it run as far as it will on its own.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
    const pulledWhilePaused = source.pulled();
    expect(pulledWhilePaused).toBeLessThan(1_000);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(source.pulled()).toBe(pulledWhilePaused);

    await pipeline(
      stream,
      new Writable({
        write(chunk: Buffer, _e, callback) {
          received += chunk.toString('utf8');
          callback();
        },
      }),
    );
    const lines = received.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { position: string; data: Record<string, unknown> });
    expect(lines).toHaveLength(EVENTS);
    expect(lines[0].position).toBe('1:1');
    expect(lines[EVENTS - 1].position).toBe(`${EVENTS}:${EVENTS}`);
    const upload = lines.find((l) => l.data.faces !== undefined);
    expect(upload?.data.faces).toBe(ENCRYPTED_MARKER);
    expect(received).not.toContain('$pii');
  });

  it('closes the log iterator when the consumer goes away, and honours a limit', async () => {
    const source = counted(store);
    const stream = auditNdjsonStream(source.store, {});
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy();
    await new Promise((r) => setTimeout(r, 10));
    expect(source.closed()).toBe(1);

    let ended = -1;
    const limited = auditNdjsonStream(store, { type: 'ImageUploaded' }, { limit: 7, onEnd: (n) => (ended = n) });
    let text = '';
    for await (const chunk of limited) text += (chunk as Buffer).toString('utf8');
    const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(Array(7).fill('ImageUploaded'));
    expect(ended).toBe(7);
  });
});
