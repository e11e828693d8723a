import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { AppConfig } from '../../config/app-config';
import { ConsentGate } from '../../consent/consent-gate.service';
import { deterministicUuid, EventLog, type CommandContext } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import { comparePositions, type Position } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { objectKeys } from '../../object-storage/object-keys';
import { EncryptedObjects } from '../encrypted-objects';
import { foldImage } from '../images/image.state';
import { KeyedMutex } from './keyed-mutex';
import { UploadImageCommand, type UploadImageResult } from './upload-image.command';
import { checkUploadContent, decideIdempotentUpload, decideUpload } from './upload-image.decider';
import { newId } from '../../../common/ids/uuid-v7';

const OPLOG_ATTEMPTS = 3;

/**
 * Upload, in order: Idempotency-Key replay → consent/restriction → content rules → encrypted
 * object under `originals/` → `ImageUploaded` ('no_stream') → `FaceDetectionLogged` → wait for
 * the read model. The image event is the commit point: if it cannot be appended the error (503)
 * goes through and nothing is half-written. The object just written is deleted again when the log
 * says the event is not there; when that cannot be told (the store went away with the append on
 * the wire, so the event may have landed) the object is kept: deleting it could leave a recorded
 * image without its original. If the event did not land, the object is unreferenced and the orphan
 * sweep removes it after RETENTION_ORPHAN_GRACE; a retry with the same Idempotency-Key replaces it.
 */
@CommandHandler(UploadImageCommand)
export class UploadImageHandler implements ICommandHandler<UploadImageCommand> {
  private readonly sameKey = new KeyedMutex();

  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EncryptedObjects) private readonly objects: EncryptedObjects,
    @Inject(ConsentGate) private readonly consent: ConsentGate,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  async execute(command: UploadImageCommand): Promise<UploadImageResult> {
    const idempotency = command.context.idempotency;
    if (!idempotency) return this.upload(command, newId());
    // The image id derives from the caller and the key: a retry targets the same stream.
    const imageId = deterministicUuid('image', command.subjectId, idempotency.key);
    return this.sameKey.run(imageId, () => this.upload(command, imageId));
  }

  private async upload(command: UploadImageCommand, imageId: string): Promise<UploadImageResult> {
    const { subjectId, upload, context } = command;
    const stream = streams.image(imageId);

    if (context.idempotency) {
      const replay = await this.replayOf(stream, context.idempotency.requestHash);
      if (replay) return replay;
    }

    await this.consent.assertProcessingAllowed(subjectId, upload.purpose);
    const checked = checkUploadContent(upload, this.config.uploads);
    const objectKey = objectKeys.original(subjectId, imageId);
    const events = decideUpload({ subjectId, imageId, purpose: upload.purpose, objectKey, checked });

    await this.objects.put(subjectId, objectKey, checked.bytes, checked.contentType);

    const encoded = await this.log.encode(stream, [events.image], context);
    const uploadedAt = String(encoded[0].metadata.occurredAt);
    let position: Position;
    try {
      position = (await this.log.store.append(stream, encoded, 'no_stream')).position;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError && context.idempotency) {
        // The same key raced in concurrently (another instance): answer as a replay, or refuse.
        const replay = await this.replayOf(stream, context.idempotency.requestHash);
        if (replay) return replay;
      }
      const landed = await this.committedDespite(stream, checked.sha256);
      if (landed === 'absent') await this.removeObject(objectKey, imageId);
      else if (landed === 'unknown') {
        this.logger.get().warn({ imageId, cause: error instanceof Error ? error.name : 'unknown' }, 'upload append failed and its outcome cannot be told: the object is kept (the orphan sweep removes it if unreferenced)');
      }
      if (landed === 'absent' || landed === 'unknown') throw error;
      position = landed;
    }

    const oplogPosition = await this.appendOperationLog(subjectId, imageId, events.oplog, context);
    await this.settle(oplogPosition && comparePositions(oplogPosition, position) > 0 ? oplogPosition : position);
    this.logger.get().info({ imageId, purpose: upload.purpose, contentType: checked.contentType, size: checked.bytes.length }, 'original stored');
    return { imageId, status: 'stored', uploadedAt, replayed: false };
  }

  /** A replay of the first answer when this key was already used with the same body. */
  private async replayOf(stream: string, requestHash: string): Promise<UploadImageResult | null> {
    const existing = foldImage((await this.log.load(stream)).events);
    const decision = decideIdempotentUpload(existing, requestHash);
    return decision.kind === 'replay' ? { imageId: decision.imageId, status: 'stored', uploadedAt: decision.uploadedAt, replayed: true } : null;
  }

  /**
   * After a failed append (e.g. a timeout, or the store going away with the append on the wire):
   * did this very upload land after all? Its position if so; 'absent' when the stream shows it did
   * not; 'unknown' when that cannot be told (the store does not answer).
   */
  private async committedDespite(stream: string, sha256: string): Promise<Position | 'absent' | 'unknown'> {
    let loaded;
    try {
      loaded = await this.log.load(stream);
    } catch {
      return 'unknown';
    }
    const state = foldImage(loaded.events);
    return state.exists && state.sha256 === sha256 && loaded.events[0] ? loaded.events[0].position : 'absent';
  }

  /** Best effort: the append failed, so the object must not outlive the request. */
  private async removeObject(objectKey: string, imageId: string): Promise<void> {
    try {
      await this.objects.delete(objectKey);
    } catch (error) {
      // The orphan sweep removes unreferenced objects later (RETENTION_ORPHAN_GRACE).
      this.logger.get().warn({ imageId, cause: error instanceof Error ? error.name : 'unknown' }, 'could not remove the object of a failed upload');
    }
  }

  /**
   * The operation-log entry (counts only). Its event id is fixed by the image id, so a retry never
   * duplicates it. The image is already committed: if the log stays unavailable the upload still
   * succeeds and the gap is logged, rather than answering an error that would make the client
   * upload the same photo again.
   */
  private async appendOperationLog(
    subjectId: string,
    imageId: string,
    event: Parameters<EventLog['encode']>[1][number],
    context: CommandContext,
  ): Promise<Position | null> {
    const stream = streams.oplog(subjectId);
    const encoded = await this.log.encode(stream, [event], context);
    const fixed = [{ ...encoded[0], id: deterministicUuid('FaceDetectionLogged', imageId) }];
    let lastError: unknown;
    for (let attempt = 0; attempt < OPLOG_ATTEMPTS; attempt++) {
      try {
        return (await this.log.store.append(stream, fixed, 'any')).position;
      } catch (error) {
        lastError = error;
      }
    }
    this.logger.get().warn({ imageId, cause: lastError instanceof Error ? lastError.name : 'unknown' }, 'operation log entry of an upload could not be appended');
    return null;
  }

  /** Read-your-writes for the answer; a slow projection does not turn a stored upload into an error. */
  private async settle(position: Position): Promise<void> {
    try {
      await this.runner.waitFor(position);
    } catch {
      this.logger.get().warn({ component: 'projections' }, 'read model did not catch up before the upload answer');
    }
  }
}
