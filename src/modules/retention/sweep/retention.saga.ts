import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { ProjectionRunner } from '../../../projections/projection-runner';
import type { StoredEvent } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { OplogMetadata } from '../operation-logs/oplog-metadata';

const OPLOG_TYPES: ReadonlySet<string> = new Set(['FaceDetectionLogged', 'ProcessingLogged']);

/**
 * The part of the retention policy that acts at once, as events are projected (from any
 * instance): the first entry of an operation-log stream gives the stream its `$maxAge`, so its
 * entries become unreadable exactly when they expire. (Temporary files are deleted at once by the
 * facial-data TempFilesSaga; originals of a withdrawn purpose by the consent withdrawal's cascade;
 * originals after processing are deadline-based.) Nothing here holds a deadline in memory: every
 * due item is also found by the next sweep, from the ledger, which repairs what an interrupted
 * reaction left.
 */
@Injectable()
export class RetentionSaga implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private unsubscribe: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(OplogMetadata) private readonly oplogMetadata: OplogMetadata,
    @Inject(AppLogger) appLogger: AppLogger,
  ) {
    this.logger = appLogger.root.child({ component: 'retention-saga' });
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.runner.onEvents((events) => this.onEvents(events));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.whenIdle();
  }

  /** Resolves when every reaction triggered so far has run. */
  async whenIdle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.chain;
      await current;
    } while (current !== this.chain);
  }

  private onEvents(events: readonly StoredEvent[]): void {
    if (this.stopped) return;
    const oplogStreams = new Set<string>();
    for (const event of events) {
      if (OPLOG_TYPES.has(event.type) && event.stream.startsWith('oplog-')) oplogStreams.add(event.stream);
    }
    if (oplogStreams.size > 0 && this.oplogMetadata.noteEntries(oplogStreams)) {
      this.enqueue(async () => {
        await this.oplogMetadata.applyNoted();
      });
    }
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await task();
      } catch (error) {
        this.logger.warn({ err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'retention reaction failed; the sweep repairs it');
      }
    });
  }
}
