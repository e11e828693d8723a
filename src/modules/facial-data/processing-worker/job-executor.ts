import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DomainEvent, EventOfType } from '../../../events';
import { SHREDDED } from '../../../events/schema';
import { streams } from '../../../events/streams';
import type { Clock } from '../../clock/clock.port';
import type { ConsentGate } from '../../consent/consent-gate.service';
import { SubjectKeyDestroyedError } from '../../crypto/crypto.errors';
import type { CommandContext, EventLog, LoadedStream } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import type { Position } from '../../event-store/event-store.port';
import { objectKeys } from '../../object-storage/object-keys';
import { ObjectNotFoundError } from '../../object-storage/object-storage.port';
import { ProcessingError, type FaceProcessor, type ProcessingOutput } from '../../processing/face-processor.port';
import type { EncryptedObjects } from '../encrypted-objects';
import { foldArtwork } from '../artworks/artwork.state';
import { foldImage, type ImageState } from '../images/image.state';
import { foldJob, holdsAttempt, isRunnable, type JobState } from '../jobs/job.state';
import {
  artworkIdFor,
  decideAttemptFailure,
  decideClaim,
  decideCompletion,
  tempNamesFor,
  type AttemptError,
} from './processing-worker.decider';

/** What one pass over one job came to. */
export type JobOutcome =
  /** Not runnable any more, or another worker claimed it first. */
  | 'skipped'
  | 'completed'
  | 'failed'
  | 'cancelled'
  /** A retryable failure with attempts left: the lease expiry makes it runnable again. */
  | 'retry-later'
  /** The job was cancelled or taken over while this worker ran it: its result was thrown away. */
  | 'discarded'
  /** The store or storage failed before anything could be decided: nothing recorded, the job stays as it was. */
  | 'aborted';

export interface JobExecutorSettings {
  /** This worker's name in JobStarted (AppConfig.instanceId). */
  readonly worker: string;
  readonly leaseMs: number;
  readonly maxAttempts: number;
}

export interface JobExecutorDeps {
  readonly log: EventLog;
  readonly objects: EncryptedObjects;
  readonly processor: FaceProcessor;
  readonly consent: ConsentGate;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Lost the job (cancelled or taken over): stop, append nothing more. */
class Discarded extends Error {
  constructor() {
    super('job no longer held by this worker');
  }
}

/** An attempt that ends with the job cancelled for a reason found while running it. */
class CancelDuring extends Error {
  constructor(readonly reason: 'original-deleted' | 'erasure') {
    super(`cancelled: ${reason}`);
  }
}

const ARTWORK_TYPES = ['image/jpeg', 'image/png'] as const;
type ArtworkType = (typeof ARTWORK_TYPES)[number];

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Runs one attempt of one job, recording every step in the job's stream with the stream's
 * expected revision, so that of two workers only one ever starts an attempt, and a worker whose
 * job was cancelled or taken over records nothing more (and removes what it wrote).
 *
 * Order of an attempt: JobStarted (the claim, with a lease) → the decrypted original staged as
 * temp object `input` + TempFileCreated and DataDisclosedToProcessor (one append, before the bytes
 * reach the processor) → ProcessingLogged started → the processor → intermediates as temp objects
 * + TempFileCreated → the artwork stored encrypted + ArtworkGenerated → JobCompleted →
 * ProcessingLogged completed. Image bytes and options never reach a log line.
 */
export class JobExecutor {
  constructor(
    private readonly deps: JobExecutorDeps,
    readonly settings: JobExecutorSettings,
  ) {}

  async execute(jobId: string): Promise<{ outcome: JobOutcome; position: Position | null }> {
    const run = new AttemptRun(this.deps, this.settings, jobId);
    const outcome = await run.execute();
    return { outcome, position: run.lastPosition };
  }
}

class AttemptRun {
  lastPosition: Position | null = null;
  private revision: bigint | 'no_stream' = 'no_stream';
  private job!: JobState;
  private context!: CommandContext;
  private attempt = 0;

  constructor(
    private readonly deps: JobExecutorDeps,
    private readonly settings: JobExecutorSettings,
    private readonly jobId: string,
  ) {}

  private get stream(): string {
    return streams.job(this.jobId);
  }

  async execute(): Promise<JobOutcome> {
    const loaded = await this.deps.log.load(this.stream);
    this.adopt(loaded);
    if (this.job.status === 'none' || !this.job.subjectId || !this.job.purpose || !this.job.imageId) return 'skipped';
    const first = loaded.events[0];
    const last = loaded.events[loaded.events.length - 1];
    this.context = {
      actor: 'system:processing',
      correlationId: typeof first.metadata.correlationId === 'string' ? first.metadata.correlationId : randomUUID(),
      causationId: last.id,
    };
    const now = this.deps.clock.now();
    if (!isRunnable(this.job, now)) return 'skipped';
    const [consent, image] = await Promise.all([
      this.deps.consent.verdict(this.job.subjectId, this.job.purpose),
      this.deps.log.load(streams.image(this.job.imageId)).then((s) => foldImage(s.events)),
    ]);
    const decision = decideClaim(this.job, { now, worker: this.settings.worker, leaseMs: this.settings.leaseMs, maxAttempts: this.settings.maxAttempts, consent, image });
    switch (decision.kind) {
      case 'skip':
        return 'skipped';
      case 'cancel':
        if (!(await this.tryAppend([decision.event]))) return 'skipped';
        if (this.job.status === 'running') await this.oplog('cancelled');
        return 'cancelled';
      case 'fail':
        if (!(await this.tryAppend([decision.event]))) return 'skipped';
        await this.oplog('failed', { code: decision.event.data.code });
        return 'failed';
      case 'start':
        if (!(await this.tryAppend([decision.event]))) return 'skipped';
        this.attempt = decision.attempt;
        this.job = { ...this.job, status: 'running', attempts: decision.attempt, worker: this.settings.worker, leaseUntil: decision.event.data.leaseUntil };
        await this.oplog('started');
        return this.runAttempt(image);
    }
  }

  private async runAttempt(image: ImageState): Promise<JobOutcome> {
    const started = this.deps.clock.now().getTime();
    const written: string[] = [];
    try {
      const resumed = await this.resumeFromEarlierAttempt();
      if (resumed) return await this.complete(resumed.artworkId, { resumedFromAttempt: resumed.attempt }, started);

      const purpose = this.job.purpose as NonNullable<JobState['purpose']>;
      if (!this.deps.processor.supports(purpose)) {
        throw new ProcessingError('PROCESSOR_UNSUPPORTED', `no processor is configured that can perform ${purpose} (the AI servers are not configured)`);
      }
      const subjectId = this.job.subjectId as string;
      const original = await this.readOriginal(image);

      // Stage the input, then record it and the disclosure in one append, before the hand-over.
      const inputKey = objectKeys.temp(subjectId, this.jobId, 'input');
      written.push(inputKey);
      await this.deps.objects.put(subjectId, inputKey, original);
      await this.append([
        { type: 'TempFileCreated', data: { jobId: this.jobId, subjectId, objectKey: inputKey, kind: 'input', size: original.length } },
        {
          type: 'DataDisclosedToProcessor',
          data: {
            jobId: this.jobId,
            subjectId,
            imageId: this.job.imageId as string,
            processor: this.deps.processor.identityFor(purpose).name,
            purpose,
            objectSha256: sha256(original),
            bytes: original.length,
          },
        },
      ]);
      written.length = 0;

      const output = await this.deps.processor.process({
        jobId: this.jobId,
        purpose,
        image: original,
        contentType: image.contentType ?? 'application/octet-stream',
        faces: image.faces === SHREDDED ? [] : image.faces,
        options: optionsOf(this.job.options),
      });

      await this.storeIntermediates(output, written);
      const artworkId = output.artwork ? await this.storeArtwork(output.artwork, image) : null;
      return await this.complete(artworkId, output.summary, started);
    } catch (error) {
      if (written.length > 0) await this.removeQuietly(written);
      return this.onError(error);
    }
  }

  /** A crash between ArtworkGenerated and JobCompleted: the earlier attempt's artwork is there. */
  private async resumeFromEarlierAttempt(): Promise<{ artworkId: string; attempt: number } | null> {
    for (let attempt = this.attempt - 1; attempt >= 1; attempt--) {
      const artworkId = artworkIdFor(this.jobId, attempt);
      const artwork = foldArtwork((await this.deps.log.load(streams.artwork(artworkId))).events);
      if (artwork.exists && !artwork.deleted && artwork.jobId === this.jobId) return { artworkId, attempt };
    }
    return null;
  }

  private async readOriginal(image: ImageState): Promise<Buffer> {
    if (!image.objectKey) throw new CancelDuring('original-deleted');
    try {
      return await this.deps.objects.get(this.job.subjectId as string, image.objectKey);
    } catch (error) {
      if (error instanceof SubjectKeyDestroyedError) throw new CancelDuring('erasure');
      if (error instanceof ObjectNotFoundError) {
        const now = foldImage((await this.deps.log.load(streams.image(this.job.imageId as string))).events);
        if (now.deleted) throw new CancelDuring('original-deleted');
        throw new ProcessingError('ORIGINAL_MISSING', 'the original image object is missing from storage');
      }
      throw error;
    }
  }

  private async storeIntermediates(output: ProcessingOutput, written: string[]): Promise<void> {
    if (output.intermediates.length === 0) return;
    const subjectId = this.job.subjectId as string;
    const names = tempNamesFor(output.intermediates.map((i) => i.name));
    const events: EventOfType<'TempFileCreated'>[] = [];
    for (let i = 0; i < names.length; i++) {
      const key = objectKeys.temp(subjectId, this.jobId, names[i]);
      written.push(key);
      await this.deps.objects.put(subjectId, key, output.intermediates[i].bytes);
      events.push({ type: 'TempFileCreated', data: { jobId: this.jobId, subjectId, objectKey: key, kind: 'intermediate', size: output.intermediates[i].bytes.length } });
    }
    await this.append(events);
    written.length = 0;
  }

  private async storeArtwork(artwork: NonNullable<ProcessingOutput['artwork']>, image: ImageState): Promise<string> {
    if (!(ARTWORK_TYPES as readonly string[]).includes(artwork.contentType)) {
      throw new ProcessingError('PROCESSOR_REJECTED', 'the processor returned an artwork of an unsupported type');
    }
    await this.ensureStillHeld();
    const subjectId = this.job.subjectId as string;
    const artworkId = artworkIdFor(this.jobId, this.attempt);
    const key = objectKeys.artwork(subjectId, artworkId);
    await this.deps.objects.put(subjectId, key, artwork.bytes, artwork.contentType);
    const generated: EventOfType<'ArtworkGenerated'> = {
      type: 'ArtworkGenerated',
      data: {
        artworkId,
        subjectId,
        jobId: this.jobId,
        imageId: image.imageId as string,
        purpose: this.job.purpose as NonNullable<JobState['purpose']>,
        objectKey: key,
        contentType: artwork.contentType as ArtworkType,
        size: artwork.bytes.length,
        sha256: sha256(artwork.bytes),
        width: artwork.width,
        height: artwork.height,
      },
    };
    try {
      const result = await this.deps.log.append(streams.artwork(artworkId), [generated], 'no_stream', this.context);
      this.lastPosition = result.position;
    } catch (error) {
      // The event may have landed although the answer did not (the store went away with the append
      // on the wire): removing the object then would leave a recorded artwork without its bytes.
      const landed = await this.artworkRecorded(artworkId, generated.data.sha256);
      if (landed === 'absent') await this.removeQuietly([key]);
      else if (landed === 'unknown') {
        // Unreferenced if it did not land: the orphan sweep removes it after RETENTION_ORPHAN_GRACE.
        this.deps.logger.warn({ jobId: this.jobId, artworkId, err: { type: errorName(error) } }, 'artwork append failed and its outcome cannot be told: the object is kept');
      }
      if (landed === 'absent' || landed === 'unknown') throw error;
      this.lastPosition = landed;
    }
    return artworkId;
  }

  /** After a failed append: whether this very artwork is recorded after all (its position), not recorded, or unknown. */
  private async artworkRecorded(artworkId: string, sha: string): Promise<Position | 'absent' | 'unknown'> {
    let events;
    try {
      events = (await this.deps.log.load(streams.artwork(artworkId))).events;
    } catch {
      return 'unknown';
    }
    const artwork = foldArtwork(events);
    return artwork.exists && artwork.jobId === this.jobId && artwork.sha256 === sha && events[0] ? events[0].position : 'absent';
  }

  private async complete(artworkId: string | null, summary: Readonly<Record<string, string | number | boolean>>, startedMs: number): Promise<JobOutcome> {
    const decision = decideCompletion(this.job, this.settings.worker, this.attempt, { artworkId, summary });
    if (decision.kind === 'discard') throw new Discarded();
    try {
      await this.append([decision.event]);
    } catch (error) {
      if (error instanceof Discarded && artworkId !== null && artworkId === artworkIdFor(this.jobId, this.attempt)) await this.discardArtwork(artworkId);
      throw error;
    }
    await this.oplog('completed', { durationMs: Math.max(0, this.deps.clock.now().getTime() - startedMs) });
    return 'completed';
  }

  /** The job was cancelled or taken over after this attempt generated its artwork: remove it, and record that. */
  private async discardArtwork(artworkId: string): Promise<void> {
    const subjectId = this.job.subjectId as string;
    const key = objectKeys.artwork(subjectId, artworkId);
    await this.removeQuietly([key]);
    try {
      const result = await this.deps.log.append(
        streams.artwork(artworkId),
        [{ type: 'ArtworkDeleted', data: { artworkId, subjectId, purpose: this.job.purpose as NonNullable<JobState['purpose']>, objectKey: key, reason: 'superseded' } }],
        0n,
        this.context,
      );
      this.lastPosition = result.position;
    } catch (error) {
      this.deps.logger.warn({ jobId: this.jobId, artworkId, err: { type: errorName(error) } }, 'could not record the deletion of a discarded artwork');
    }
  }

  private async onError(error: unknown): Promise<JobOutcome> {
    if (error instanceof Discarded) return 'discarded';
    if (error instanceof CancelDuring) {
      const cancelled = await this.appendIfHeld({
        type: 'JobCancelled',
        data: { jobId: this.jobId, subjectId: this.job.subjectId as string, imageId: this.job.imageId as string, purpose: this.job.purpose as NonNullable<JobState['purpose']>, reason: error.reason },
      });
      if (!cancelled) return 'discarded';
      await this.oplog('cancelled');
      return 'cancelled';
    }
    const failure: AttemptError =
      error instanceof ProcessingError
        ? { code: error.code, message: error.message, retryable: error.retryable }
        : { code: 'WORKER_ERROR', message: 'the worker hit an infrastructure error (storage, event store or key store)', retryable: true };
    if (!(error instanceof ProcessingError)) {
      this.deps.logger.warn({ jobId: this.jobId, attempt: this.attempt, err: { type: errorName(error) } }, 'job attempt failed on an infrastructure error');
    }
    let decision;
    try {
      decision = decideAttemptFailure(await this.reload(), this.settings.worker, this.attempt, failure, this.settings.maxAttempts);
    } catch {
      return 'retry-later'; // the store itself is down: the lease expiry brings the job back
    }
    if (decision.kind === 'discard') return 'discarded';
    if (decision.kind === 'retry-later') return 'retry-later';
    try {
      await this.append([decision.event]);
    } catch (appendError) {
      if (appendError instanceof Discarded) return 'discarded';
      return 'retry-later';
    }
    await this.oplog('failed', { code: failure.code });
    return 'failed';
  }

  private async appendIfHeld(event: DomainEvent): Promise<boolean> {
    try {
      if (!holdsAttempt(await this.reload(), this.settings.worker, this.attempt)) return false;
      await this.append([event]);
      return true;
    } catch {
      return false;
    }
  }

  /** Re-reads the job stream; throws Discarded when this worker no longer holds the attempt. */
  private async ensureStillHeld(): Promise<void> {
    if (!holdsAttempt(await this.reload(), this.settings.worker, this.attempt)) throw new Discarded();
  }

  private async reload(): Promise<JobState> {
    const loaded = await this.deps.log.load(this.stream);
    this.adopt(loaded);
    return this.job;
  }

  private adopt(loaded: LoadedStream): void {
    this.job = foldJob(loaded.events);
    this.revision = loaded.revision;
  }

  /** Appends to the job stream at the revision this worker last saw; a conflict means the job is no longer its own. */
  private async append(events: readonly DomainEvent[]): Promise<void> {
    try {
      const result = await this.deps.log.append(this.stream, events, this.revision, this.context);
      this.revision = result.nextExpectedRevision;
      this.lastPosition = result.position;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) throw new Discarded();
      throw error;
    }
  }

  /** For the claim steps: false when another worker or a cancellation got there first. */
  private async tryAppend(events: readonly DomainEvent[]): Promise<boolean> {
    try {
      await this.append(events);
      return true;
    } catch (error) {
      if (error instanceof Discarded) return false;
      throw error;
    }
  }

  private async oplog(step: 'started' | 'completed' | 'failed' | 'cancelled', extra: { durationMs?: number; code?: string } = {}): Promise<void> {
    const subjectId = this.job.subjectId as string;
    const event: EventOfType<'ProcessingLogged'> = {
      type: 'ProcessingLogged',
      data: { subjectId, jobId: this.jobId, imageId: this.job.imageId as string, purpose: this.job.purpose as NonNullable<JobState['purpose']>, step, ...extra },
    };
    try {
      const result = await this.deps.log.append(streams.oplog(subjectId), [event], 'any', this.context);
      this.lastPosition = result.position;
    } catch (error) {
      // The job stream already holds the fact; the operation log is a convenience copy.
      this.deps.logger.warn({ jobId: this.jobId, step, err: { type: errorName(error) } }, 'could not append to the operation log');
    }
  }

  private async removeQuietly(keys: readonly string[]): Promise<void> {
    try {
      await this.deps.objects.storage.deleteMany(keys);
    } catch (error) {
      // Left for the orphan sweep of the retention module.
      this.deps.logger.warn({ jobId: this.jobId, objects: keys.length, err: { type: errorName(error) } }, 'could not remove objects of a discarded attempt');
    }
  }
}

function optionsOf(options: JobState['options']): Readonly<Record<string, unknown>> {
  if (options === SHREDDED || options === null || typeof options !== 'object' || Array.isArray(options)) return {};
  return options;
}
