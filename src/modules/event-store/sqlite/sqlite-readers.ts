import { nextTurn } from '../../../common/async/next-turn';
import type { StoredEvent } from '../event-store.port';
import { type CompiledFilter, type EventRow, rowRevision, toStoredEvent } from './sqlite-event-rows';

/** One page of the log, read in one statement. */
export interface AllPage {
  readonly rows: EventRow[];
  /** Exclusive position to read the next page from. */
  readonly next: number;
  /** True when nothing after `next` was in the log when the page was read. */
  readonly atHead: boolean;
}

/** What the readers need from the store: synchronous page reads (errors already wrapped). */
export interface AllPageSource {
  readAllPage(after: number, limit: number, filter: CompiledFilter | null): AllPage;
}

/** Filtered reads scan the log in position windows; after this many empty windows, yield. */
const WINDOWS_PER_TURN = 8;

/**
 * Reads the next page that holds events or reaches the head, yielding to the event loop first
 * (and between empty windows of a selective filter), so a long scan never starves other work.
 */
export async function fetchPage(
  source: AllPageSource,
  after: number,
  limit: number,
  filter: CompiledFilter | null,
  stopped: () => boolean,
): Promise<AllPage | null> {
  await nextTurn();
  let from = after;
  for (let windows = 1; ; windows++) {
    if (stopped()) return null;
    const page = source.readAllPage(from, limit, filter);
    if (page.rows.length > 0 || page.atHead) return page;
    from = page.next;
    if (windows % WINDOWS_PER_TURN === 0) await nextTurn();
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * readAll: keyset pagination over the log, one page in memory. Events of a page are handed out
 * from already-resolved promises (cheap); a new page is fetched on the next event-loop turn.
 */
export class AllEventsIterator implements AsyncIterableIterator<StoredEvent> {
  private rows: EventRow[] = [];
  private index = 0;
  private finished = false;
  private lastPageWasHead = false;

  constructor(
    private readonly source: AllPageSource,
    private after: number,
    private remaining: number,
    private readonly pageSize: number,
    private readonly filter: CompiledFilter | null,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<StoredEvent> {
    return this;
  }

  next(): Promise<IteratorResult<StoredEvent>> {
    if (this.index < this.rows.length && this.remaining > 0) {
      this.remaining--;
      return Promise.resolve({ done: false, value: toStoredEvent(this.rows[this.index++]) });
    }
    if (this.finished || this.remaining <= 0 || this.lastPageWasHead) return this.finish();
    return this.loadPage();
  }

  return(): Promise<IteratorResult<StoredEvent>> {
    return this.finish();
  }

  private finish(): Promise<IteratorResult<StoredEvent>> {
    this.finished = true;
    this.rows = [];
    this.index = 0;
    return Promise.resolve(DONE);
  }

  private async loadPage(): Promise<IteratorResult<StoredEvent>> {
    let page: AllPage | null;
    try {
      page = await fetchPage(this.source, this.after, Math.min(this.pageSize, this.remaining), this.filter, () => this.finished);
    } catch (error) {
      this.finished = true;
      throw error;
    }
    if (page === null || page.rows.length === 0) return this.finish();
    this.rows = page.rows;
    this.index = 1;
    this.after = page.next;
    this.lastPageWasHead = page.atHead;
    this.remaining--;
    return { done: false, value: toStoredEvent(page.rows[0]) };
  }
}

/** Reads one page of a stream; `bound` is the inclusive revision to continue from. */
export type StreamPageReader = (bound: number, limit: number) => EventRow[];

/**
 * readStream: the stream's state is checked when iteration starts (errors surface from the first
 * `next()`), then pages are read by revision, forwards or backwards.
 */
export class StreamEventsIterator implements AsyncIterableIterator<StoredEvent> {
  private rows: EventRow[] = [];
  private index = 0;
  private finished = false;
  private reader: { read: StreamPageReader; bound: number; remaining: number; forwards: boolean } | null = null;

  constructor(
    private readonly open: () => { read: StreamPageReader; from: number; maxCount: number; forwards: boolean },
    private readonly pageSize: number,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<StoredEvent> {
    return this;
  }

  next(): Promise<IteratorResult<StoredEvent>> {
    if (this.index < this.rows.length) {
      return Promise.resolve({ done: false, value: toStoredEvent(this.rows[this.index++]) });
    }
    if (this.finished) return Promise.resolve(DONE);
    // The first page at once (most streams fit in it); later pages on the next event-loop turn.
    if (this.reader === null) return this.loadPage();
    return nextTurn().then(() => this.loadPage());
  }

  private loadPage(): Promise<IteratorResult<StoredEvent>> {
    if (this.finished) return Promise.resolve(DONE);
    try {
      if (this.reader === null) {
        const opened = this.open();
        this.reader = { read: opened.read, bound: opened.from, remaining: opened.maxCount, forwards: opened.forwards };
      }
      const reader = this.reader;
      if (reader.remaining <= 0) return this.return();
      const limit = Math.min(this.pageSize, reader.remaining);
      const rows = reader.read(reader.bound, limit);
      if (rows.length === 0) return this.return();
      // A short page is the end of the stream (as it was when the page was read).
      reader.remaining = rows.length < limit ? 0 : reader.remaining - rows.length;
      const lastRevision = rowRevision(rows[rows.length - 1]);
      reader.bound = reader.forwards ? lastRevision + 1 : lastRevision - 1;
      this.rows = rows;
      this.index = 1;
      return Promise.resolve({ done: false, value: toStoredEvent(rows[0]) });
    } catch (error) {
      this.finished = true;
      return Promise.reject(error);
    }
  }

  return(): Promise<IteratorResult<StoredEvent>> {
    this.finished = true;
    this.rows = [];
    this.index = 0;
    return Promise.resolve(DONE);
  }
}
