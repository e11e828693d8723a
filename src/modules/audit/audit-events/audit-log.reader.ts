import { Readable } from 'node:stream';
import type { EventStore, Position, StoredEvent } from '../../event-store/event-store.port';
import { formatPosition } from './audit-position';
import { matchesAuditFilter, storeFilterOf, toAuditEventView, type AuditEventFilter, type AuditEventView } from './audit-event-view';

export interface AuditPage {
  readonly events: AuditEventView[];
  /** Continue from here (exclusive); null when the scan reached the end of the log. */
  readonly nextPosition: string | null;
}

/** Events looked at per page request at most (filters the store cannot apply are applied here). */
export const MAX_SCANNED_PER_PAGE = 50_000;

/**
 * One page of the log for auditors, in log order, after `from`. Stops after `limit` matching
 * events or after scanning MAX_SCANNED_PER_PAGE events; `nextPosition` then says where to go on.
 */
export async function readAuditPage(
  store: EventStore,
  filter: AuditEventFilter,
  from: Position | 'start',
  limit: number,
  maxScanned = MAX_SCANNED_PER_PAGE,
): Promise<AuditPage> {
  const events: AuditEventView[] = [];
  let scanned = 0;
  let last: Position | null = null;
  for await (const event of store.readAll({ fromPosition: from, filter: storeFilterOf(filter) })) {
    scanned++;
    last = event.position;
    if (matchesAuditFilter(event, filter)) {
      events.push(toAuditEventView(event));
      if (events.length >= limit) return { events, nextPosition: formatPosition(event.position) };
    }
    if (scanned >= maxScanned) return { events, nextPosition: formatPosition(last) };
  }
  return { events, nextPosition: null };
}

export interface AuditStreamOptions {
  readonly from?: Position | 'start';
  /** Stop after this many events (default: the whole remaining log). */
  readonly limit?: number;
  /** Called with the number of events written once the stream ends (not when it is destroyed). */
  readonly onEnd?: (count: number) => void;
  /** Called as chunks go out: events written so far and the position of the last event read. */
  readonly onProgress?: (count: number, position: Position) => void;
}

/** Bytes gathered before a chunk is pushed downstream. */
const CHUNK_BYTES = 16 * 1024;
/** With a progress callback: report at least every this many events read (filtered runs write little). */
const PROGRESS_EVERY = 5_000;

/**
 * The log as NDJSON (one AuditEventView per line), pulled lazily: the log is read only when the
 * consumer wants more (Readable back-pressure: reading stops when `push` says the buffer is full
 * and resumes on the next `read`), one page of the store in memory at a time. Destroying the
 * stream (client gone) closes the log iterator.
 */
export function auditNdjsonStream(store: EventStore, filter: AuditEventFilter, options: AuditStreamOptions = {}): Readable {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const iterable = store.readAll({ fromPosition: options.from ?? 'start', filter: storeFilterOf(filter) });
  let iterator: AsyncIterator<StoredEvent> | null = null;
  let pumping = false;
  let ended = false;
  let count = 0;
  let scanned = 0;

  const stream = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (pumping || ended) return;
      pumping = true;
      pump().finally(() => {
        pumping = false;
      });
    },
    destroy(error, callback) {
      ended = true;
      const it = iterator;
      iterator = null;
      if (it?.return) it.return().then(() => callback(error), () => callback(error));
      else callback(error);
    },
  });

  async function pump(): Promise<void> {
    try {
      iterator ??= iterable[Symbol.asyncIterator]();
      let chunk = '';
      const finish = async (exhausted: boolean) => {
        ended = true;
        if (chunk.length > 0) stream.push(chunk);
        stream.push(null);
        if (!exhausted) await iterator?.return?.();
        options.onEnd?.(count);
      };
      for (;;) {
        if (ended || iterator === null) return;
        if (count >= limit) return await finish(false);
        const next = await iterator.next();
        if (ended) return;
        if (next.done) return await finish(true);
        scanned++;
        if (matchesAuditFilter(next.value, filter)) {
          chunk += `${JSON.stringify(toAuditEventView(next.value))}\n`;
          count++;
        }
        if (chunk.length >= CHUNK_BYTES || (options.onProgress && scanned % PROGRESS_EVERY === 0)) {
          options.onProgress?.(count, next.value.position);
          if (chunk.length === 0) continue;
          const more = stream.push(chunk);
          chunk = '';
          if (!more) return;
        }
      }
    } catch (error) {
      stream.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  }

  return stream;
}
