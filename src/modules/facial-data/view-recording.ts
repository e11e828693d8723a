import type { DomainError } from '../../common/errors/domain-error';
import type { DomainEvent } from '../../events';
import type { CommandContext, EventLog } from '../event-store/event-log';
import { StreamDeletedError, StreamNotFoundError } from '../event-store/event-store.errors';
import { ObjectNotFoundError } from '../object-storage/object-storage.port';
import type { EncryptedObjects } from './encrypted-objects';

/** What to read and what to record: the decider's answer for one content read. */
export interface ViewDecision<C extends string> {
  readonly objectKey: string;
  readonly contentType: C;
  readonly event: DomainEvent;
}

export interface ViewRecording<C extends string> {
  readonly log: EventLog;
  readonly objects: EncryptedObjects;
  readonly stream: string;
  readonly subjectId: string;
  readonly context: CommandContext;
  /** The view decider on a cheap lookup: the event to record, or a refusal (404 / 410). */
  readonly decide: () => Promise<ViewDecision<C>>;
  /** The object (or its stream) is gone although the lookup still showed it: a deletion won the race. */
  readonly objectMissing: () => DomainError;
}

/**
 * Reads content for its subject and records the view before answering:
 *
 * 1. decide on a cheap lookup (the immutable upload facts, cached; the read model's deleted flag):
 *    404 for an unknown id or another subject's, 410 once the deletion is in the read model;
 * 2. read and decrypt the object. A deletion removes the object before it records `…Deleted`, so
 *    a deletion the read model does not show yet is caught here: ObjectNotFound → 410, no view;
 * 3. append the view at 'stream_exists'. A view never conflicts, neither with other views nor with
 *    a deletion: one that read the bytes before a concurrent deletion is a true record of an access
 *    that happened, and it is recorded after the deletion. Concurrent readers of one image never
 *    retry, and the cost of a read does not grow with the views the stream has gathered;
 * 4. answer the bytes only once the view is durably appended (an append that fails, e.g. 503,
 *    goes through and the bytes are not returned): a view is recorded if and only if bytes are
 *    served (plus the rare view whose client went away after the append).
 *
 * The answer does not wait for the projections: the access log and the history show the view a
 * few milliseconds later (eventually consistent), while the log itself has it before the bytes
 * leave.
 */
export async function recordViewThenAnswer<C extends string>(spec: ViewRecording<C>): Promise<{ bytes: Buffer; contentType: C }> {
  const decision = await spec.decide();
  let bytes: Buffer;
  try {
    bytes = await spec.objects.get(spec.subjectId, decision.objectKey);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw spec.objectMissing();
    throw error;
  }
  try {
    await spec.log.append(spec.stream, [decision.event], 'stream_exists', spec.context);
  } catch (error) {
    if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError) throw spec.objectMissing();
    throw error;
  }
  return { bytes, contentType: decision.contentType };
}
