import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { DomainError } from '../../../common/errors/domain-error';
import { SHREDDED } from '../../../events/schema';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { Clock } from '../../clock/clock.port';
import { KeyStoreUnavailableError } from '../../crypto/crypto.errors';
import { DerivedKeys } from '../../crypto/derived-keys';
import { SubjectCipher } from '../../crypto/subject-cipher';
import { EventLog, type CommandContext } from '../../event-store/event-log';
import { EventStoreUnavailableError, StreamDeletedError, WrongExpectedVersionError } from '../../event-store/event-store.errors';
import { EventStore } from '../../event-store/event-store.port';
import { CancelJobsCommand } from '../../facial-data/cancel-jobs/cancel-jobs.command';
import { DeleteArtworkCommand } from '../../facial-data/delete-artwork/delete-artwork.command';
import { DeleteImageCommand } from '../../facial-data/delete-image/delete-image.command';
import { foldJob } from '../../facial-data/jobs/job.state';
import { foldDevice } from '../../identity/devices/device.state';
import { SubjectStatusRegistry } from '../../identity/subject-status.registry';
import { AppLogger } from '../../logging/logger';
import { objectKeys } from '../../object-storage/object-keys';
import { ObjectStorage, ObjectStorageUnavailableError } from '../../object-storage/object-storage.port';
import { followUp, RequestFulfilment } from '../fulfilment/request-fulfilment.service';
import { RequestsReadModel } from '../requests/requests.read-model';
import {
  decideDeviceRelease,
  decideErasureFinish,
  decideErasureStart,
  decideTempFilesErasure,
  type ErasureCounts,
  type ErasureReceipt,
} from './erase-account.decider';
import { foldErasure } from './erasure.state';
import { SubjectDataReadModel } from './subject-data.read-model';

const DELETE_BATCH = 1000;
const ATTEMPTS = 5;
/** The actor of what a recovery (not a request) does. */
export const SYSTEM_ERASURE = 'system:erasure';

/**
 * Account erasure, DELETE /v1/me ("account deletion removes everything on the server immediately").
 *
 * (a) SubjectErasureStarted { receiptId } on `subject-<id>` and the token closed on this instance
 *     at once (the subjects projection closes it everywhere);
 * (b) the subject's unfinished jobs cancelled (reason erasure);
 * (c) every original and artwork still held deleted, object first then ImageDeleted / ArtworkDeleted
 *     (reason erasure), every temporary object deleted then TempFileDeleted (reason erasure): the
 *     non-personal skeleton of what was held stays for auditors; the subject's open rights
 *     requests are closed (fulfilled, `closed-by-erasure`);
 * (d) every object left under the subject's prefixes (exports, leftovers) deleted;
 *     `oplog-<subjectId>` tombstoned;
 * (e) DeviceReleased on the device stream: the device may register again, as a new subject;
 * (f) the subject's data key destroyed: from here on no personal field of theirs can be read or
 *     written, anywhere, backups included; the prefixes are swept once more;
 * (g) SubjectErased { counts, erasedAt, receiptId, keyDestroyed } at the subject stream's revision;
 * (h) the embedded event store purged, so the tombstoned stream leaves the disk (on EventStoreDB
 *     the scheduled scavenge reclaims the space; the data is unreadable already).
 *
 * Every step is idempotent and the order makes a crash at any point safe: whatever the log says
 * (SubjectErasureStarted without SubjectErased: the subjects projection's `erasing`) is completed
 * by the next call, or by the recovery sweep on boot and on every tick, with exactly one
 * SubjectErased. An outage after (a) answers 503 ERASURE_IN_PROGRESS with the receipt id (the token
 * is already dead, so the client cannot retry; the sweep completes it). The counts come from the log (what was recorded as removed by the erasure), so a
 * resumed erasure reports the same numbers.
 */
@Injectable()
export class AccountEraser {
  private readonly running = new Map<string, Promise<ErasureReceipt>>();

  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(ObjectStorage) private readonly storage: ObjectStorage,
    @Inject(SubjectCipher) private readonly cipher: SubjectCipher,
    @Inject(DerivedKeys) private readonly keys: DerivedKeys,
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(SubjectStatusRegistry) private readonly subjects: SubjectStatusRegistry,
    @Inject(SubjectDataReadModel) private readonly data: SubjectDataReadModel,
    @Inject(RequestsReadModel) private readonly requests: RequestsReadModel,
    @Inject(RequestFulfilment) private readonly fulfilment: RequestFulfilment,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  /** Erases the account (or completes an erasure under way, or answers the receipt of a finished one). One run per subject at a time here. */
  erase(subjectId: string, context: CommandContext): Promise<ErasureReceipt> {
    const current = this.running.get(subjectId);
    const run = (current ?? Promise.resolve()).catch(() => undefined).then(() => this.run(subjectId, context));
    const tracked = run.finally(() => {
      if (this.running.get(subjectId) === tracked) this.running.delete(subjectId);
    });
    this.running.set(subjectId, tracked);
    return tracked;
  }

  /** The recovery sweep: completes every erasure the log shows started and not finished. Returns how many it completed. */
  async completeInterrupted(): Promise<number> {
    let completed = 0;
    for (const subjectId of this.data.erasingSubjects()) {
      try {
        await this.erase(subjectId, { actor: SYSTEM_ERASURE, correlationId: randomUUID(), causationId: null });
        completed++;
      } catch (error) {
        this.logger.root.warn({ subjectId, err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'erasure recovery failed; the next sweep retries');
      }
    }
    return completed;
  }

  private async run(subjectId: string, requestContext: CommandContext): Promise<ErasureReceipt> {
    const subjectStream = streams.subject(subjectId);
    const started = await this.log.decideAndAppend(subjectStream, requestContext, (loaded) => {
      const decision = decideErasureStart(foldErasure(loaded.events), randomUUID());
      return { events: decision.kind === 'start' ? [decision.event] : [], result: { decision } };
    });
    if (started.decision.kind === 'done') {
      this.subjects.close(subjectId);
      return started.decision.receipt;
    }
    this.subjects.close(subjectId);
    const receiptId = started.decision.receiptId;
    if (started.decision.kind === 'start') this.logger.get().info({ subjectId, receiptId }, 'account erasure started');
    else this.logger.get().info({ subjectId, receiptId }, 'account erasure resumed');
    try {
      return await this.complete(subjectId, receiptId, followUp(requestContext));
    } catch (error) {
      if (!isOutage(error)) throw error;
      // Access is closed already and the log says the erasure started: the recovery sweep finishes it.
      this.logger.get().warn({ subjectId, receiptId, err: { type: (error as Error).name } }, 'account erasure interrupted by an outage; the recovery sweep completes it');
      throw new DomainError(
        'ERASURE_IN_PROGRESS',
        503,
        'The account is closed and its erasure has started; a storage outage interrupted it and it is completed automatically as soon as storage answers again',
        { subjectId, receiptId },
        5,
      );
    }
  }

  /** Steps (b) to (h), each idempotent. */
  private async complete(subjectId: string, receiptId: string, context: CommandContext): Promise<ErasureReceipt> {
    const subjectStream = streams.subject(subjectId);

    // (b) no job runs or starts any more.
    await this.commandBus.execute(new CancelJobsCommand(subjectId, {}, 'erasure', context));

    // (c) every resource still held: object first, then its event (the skeleton stays).
    await this.settle();
    for (const imageId of this.data.storedImages(subjectId)) {
      await this.ignoreNotFound(() => this.commandBus.execute(new DeleteImageCommand(subjectId, imageId, 'erasure', context)));
    }
    for (const artworkId of this.data.storedArtworks(subjectId)) {
      await this.ignoreNotFound(() => this.commandBus.execute(new DeleteArtworkCommand(subjectId, artworkId, 'erasure', context)));
    }
    for (const jobId of this.data.jobsWithLiveTempFiles(subjectId)) await this.eraseTempFiles(subjectId, jobId, context);

    // Open rights requests lapse with the account (closed while the key still exists: their answer carries an encrypted note field).
    for (const requestId of this.requests.openRequestIdsOf(subjectId)) {
      await this.fulfilment.answer(requestId, context, (state) =>
        state.subjectId === subjectId
          ? { type: 'RightsRequestFulfilled', data: { requestId, subjectId, decidedBy: SYSTEM_ERASURE, outcome: { action: 'closed-by-erasure', receiptId }, note: null } }
          : null,
      );
    }

    // (d) whatever else lives under the subject's prefixes (exports, leftovers of a crash).
    let swept = await this.sweepPrefixes(subjectId);
    const operationLogTombstoned = await this.tombstoneOperationLog(subjectId);

    // (e) the device may register again, as a new subject.
    await this.releaseDevice(subjectId, context);

    // (f) crypto-shredding: every personal field and object of the subject becomes unreadable.
    await this.cipher.destroySubjectKey(subjectId);
    // Nothing can be encrypted for the subject any more; catch anything written just before.
    const late = await this.sweepPrefixes(subjectId);
    swept = { exports: swept.exports + late.exports, total: swept.total + late.total };

    // (g) the proof, exactly once.
    await this.settle();
    const erased = this.data.erasedCounts(subjectId);
    const counts: ErasureCounts = {
      imagesDeleted: erased.images,
      artworksDeleted: erased.artworks,
      tempFilesDeleted: erased.tempFiles,
      exportsDeleted: swept.exports,
      otherObjectsDeleted: swept.total,
      jobsCancelled: erased.jobsCancelled,
      operationLogTombstoned,
    };
    const finished = await this.log.decideAndAppend(subjectStream, context, (loaded) => {
      const decision = decideErasureFinish(foldErasure(loaded.events), counts, this.clock.now());
      return { events: decision.events, result: { receipt: decision.receipt } };
    });
    if (finished.appended) this.logger.get().info({ subjectId, receiptId, objectsDeleted: finished.receipt.objectsDeleted }, 'account erased');

    // (h) tombstoned and hidden events leave the embedded store's disk at once. On EventStoreDB the
    // key destruction already made everything unreadable; the scheduled scavenge reclaims the space.
    if (this.store.capabilities.physicalPurge) {
      try {
        await this.store.purge();
      } catch (error) {
        this.logger.get().warn({ err: { type: (error as Error)?.name } }, 'purge after erasure failed; the retention purge repeats it');
      }
    }
    if (finished.appended) await this.runner.waitFor(finished.appended.position).catch(() => undefined);
    return finished.receipt;
  }

  private async eraseTempFiles(subjectId: string, jobId: string, context: CommandContext): Promise<void> {
    const stream = streams.job(jobId);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const loaded = await this.log.load(stream);
      const events = decideTempFilesErasure(foldJob(loaded.events), subjectId);
      if (events.length === 0) return;
      await this.storage.deleteMany(events.map((event) => event.data.objectKey));
      try {
        await this.log.append(stream, events, loaded.revision, context);
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
    }
    throw new Error(`temporary files of job ${jobId} kept changing during erasure`);
  }

  /** Deletes every object under the subject's prefixes; returns how many (and how many were exports). */
  private async sweepPrefixes(subjectId: string): Promise<{ exports: number; total: number }> {
    let total = 0;
    let exports = 0;
    const exportPrefix = objectKeys.export(subjectId, '');
    for (const prefix of objectKeys.subjectPrefixes(subjectId)) {
      let batch: string[] = [];
      for await (const object of this.storage.list(prefix)) {
        batch.push(object.key);
        if (batch.length >= DELETE_BATCH) {
          await this.storage.deleteMany(batch);
          batch = [];
        }
        total++;
        if (prefix === exportPrefix) exports++;
      }
      if (batch.length > 0) await this.storage.deleteMany(batch);
    }
    return { exports, total };
  }

  private async tombstoneOperationLog(subjectId: string): Promise<boolean> {
    try {
      await this.store.tombstoneStream(streams.oplog(subjectId));
    } catch (error) {
      if (!(error instanceof StreamDeletedError)) throw error;
    }
    return true;
  }

  private async releaseDevice(subjectId: string, context: CommandContext): Promise<void> {
    const state = foldErasure((await this.log.load(streams.subject(subjectId))).events);
    if (typeof state.deviceId !== 'string' || state.deviceId === SHREDDED) {
      // The key is already gone, so this step ran before it was destroyed (the order of the steps).
      return;
    }
    const deviceHash = this.keys.deviceHash(state.deviceId);
    await this.log.decideAndAppend(streams.device(deviceHash), context, (loaded) => ({
      events: decideDeviceRelease(foldDevice(loaded.events), subjectId, deviceHash),
      result: {},
    }));
  }

  private async settle(): Promise<void> {
    const head = await this.store.headPosition();
    if (head) await this.runner.waitFor(head);
  }

  private async ignoreNotFound(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof DomainError) || error.status !== 404) throw error;
    }
  }

}

function isOutage(error: unknown): boolean {
  return error instanceof ObjectStorageUnavailableError || error instanceof EventStoreUnavailableError || error instanceof KeyStoreUnavailableError;
}
