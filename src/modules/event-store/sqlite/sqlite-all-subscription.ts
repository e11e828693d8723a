import type { AllSubscription, SubscriptionBatch } from '../event-store.port';
import type { CompiledFilter } from './sqlite-event-rows';
import { toStoredEvent } from './sqlite-event-rows';
import { type AllPageSource, fetchPage } from './sqlite-readers';

export interface SubscriptionHost extends AllPageSource {
  /** Called once when the subscription closes, so the store stops notifying it. */
  release(subscription: SqliteAllSubscription): void;
  /** Whether a read error is transient (busy / locked), worth retrying at the next poll. */
  isTransient(error: unknown): boolean;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * Catch-up then live subscription to the log.
 *
 * Pull-driven: a page is read only when the consumer asks for the next batch, so a slow consumer
 * never makes the store buffer anything. Catch-up pages come with `caughtUp: false`; the page that
 * reaches the head (possibly empty) carries `caughtUp: true` and switches to live. Live, the
 * subscription waits until this process commits (`notify()`) or until the poll interval passes
 * (another process may write the same file), then reads everything after the last position it
 * delivered. Positions are assigned under the write lock and committed atomically, so reading
 * "after the last delivered position" can neither skip nor repeat an event.
 */
export class SqliteAllSubscription implements AllSubscription, AsyncIterator<SubscriptionBatch> {
  private closed = false;
  private live = false;
  private signalled = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: SubscriptionHost,
    private after: number,
    private readonly filter: CompiledFilter | null,
    private readonly pageSize: number,
    private readonly pollIntervalMs: number,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<SubscriptionBatch> {
    return this;
  }

  /** The store committed something: wake a waiting subscription at once. */
  notify(): void {
    this.signalled = true;
    this.wakeUp();
  }

  next(): Promise<IteratorResult<SubscriptionBatch>> {
    // Calls are served one after the other even if a caller does not wait (for-await always does).
    const result = this.queue.then(() => this.pull());
    this.queue = result.catch(() => undefined);
    return result;
  }

  async return(): Promise<IteratorResult<SubscriptionBatch>> {
    await this.close();
    return DONE;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.wakeUp();
      this.host.release(this);
    }
    return Promise.resolve();
  }

  private async pull(): Promise<IteratorResult<SubscriptionBatch>> {
    while (!this.closed) {
      this.signalled = false;
      let page;
      try {
        page = await fetchPage(this.host, this.after, this.pageSize, this.filter, () => this.closed);
      } catch (error) {
        if (this.live && this.host.isTransient(error)) {
          await this.waitForSignal();
          continue;
        }
        await this.close();
        throw error;
      }
      if (page === null || this.closed) break;
      this.after = page.next;
      if (!this.live) {
        if (page.atHead) this.live = true;
        return { done: false, value: this.batch(page.rows.map(toStoredEvent), page.atHead) };
      }
      if (page.rows.length > 0) {
        return { done: false, value: this.batch(page.rows.map(toStoredEvent), page.atHead) };
      }
      // Nothing new. A commit notified while the page was being read counts: read again at once.
      if (!this.signalled) await this.waitForSignal();
    }
    return DONE;
  }

  private batch(events: SubscriptionBatch['events'], caughtUp: boolean): SubscriptionBatch {
    return { events, caughtUp };
  }

  private waitForSignal(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => this.wakeUp(), this.pollIntervalMs);
    });
  }

  private wakeUp(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const wake = this.wake;
    this.wake = null;
    if (wake) wake();
  }
}
