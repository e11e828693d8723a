import type { DomainError } from '../../common/errors/domain-error';
import type { DomainEvent } from '../../events';
import type { ProjectionRunner } from '../../projections/projection-runner';
import type { CommandContext, EventLog, RecordedEvent } from '../event-store/event-log';
import { WrongExpectedVersionError } from '../event-store/event-store.errors';
import type { Position } from '../event-store/event-store.port';
import type { AppLogger } from '../logging/logger';
import { ObjectNotFoundError } from '../object-storage/object-storage.port';
import type { EncryptedObjects } from './encrypted-objects';

/** Concurrent views of one resource each retry their append; deletions end the loop at once. */
const VIEW_APPEND_ATTEMPTS = 20;

export interface ViewRecording<C extends string> {
  readonly log: EventLog;
  readonly objects: EncryptedObjects;
  readonly runner: ProjectionRunner;
  readonly logger: AppLogger;
  readonly stream: string;
  readonly subjectId: string;
  readonly context: CommandContext;
  /** The view decider: the event to record, or a refusal (404 / 410). */
  readonly decide: (events: readonly RecordedEvent[]) => { readonly objectKey: string; readonly contentType: C; readonly event: DomainEvent };
  /** The object is gone although no deletion event is recorded yet: a deletion is under way. */
  readonly objectMissing: () => DomainError;
}

/**
 * Reads content for its subject and records the view before answering: decide from the stream,
 * read and decrypt the object once, append the view at the loaded revision. On a concurrency
 * conflict (another view, or a deletion) the stream is read again and decided again — a deletion
 * now refuses (410) — and the view is appended at the new revision. If the view cannot be
 * appended the bytes are not returned (the error, e.g. 503, goes through).
 */
export async function recordViewThenAnswer<C extends string>(spec: ViewRecording<C>): Promise<{ bytes: Buffer; contentType: C }> {
  let loaded = await spec.log.load(spec.stream);
  let decision = spec.decide(loaded.events);
  let bytes: Buffer;
  try {
    bytes = await spec.objects.get(spec.subjectId, decision.objectKey);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw spec.objectMissing();
    throw error;
  }
  let position: Position | null = null;
  for (let attempt = 0; attempt < VIEW_APPEND_ATTEMPTS && !position; attempt++) {
    if (attempt > 0) {
      loaded = await spec.log.load(spec.stream);
      decision = spec.decide(loaded.events);
    }
    try {
      position = (await spec.log.append(spec.stream, [decision.event], loaded.revision, spec.context)).position;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || attempt === VIEW_APPEND_ATTEMPTS - 1) throw error;
    }
  }
  if (position) {
    try {
      await spec.runner.waitFor(position);
    } catch {
      spec.logger.get().warn({ component: 'projections' }, 'read model did not catch up before the content answer');
    }
  }
  return { bytes, contentType: decision.contentType };
}
