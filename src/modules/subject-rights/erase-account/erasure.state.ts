import type { EventDataOf } from '../../../events/event-registry';
import type { Shredded } from '../../../events/schema';
import type { RecordedEvent } from '../../event-store/event-log';

/** The account's erasure as `subject-<id>` tells it. */
export interface ErasureState {
  readonly status: 'none' | 'active' | 'erasing' | 'erased';
  readonly subjectId: string | null;
  /** The device the account was opened on (decrypted; SHREDDED once the key is destroyed). */
  readonly deviceId: string | Shredded | null;
  readonly receiptId: string | null;
  /** The id of the SubjectErasureStarted event (the cause of the recovery's appends). */
  readonly startedEventId: string | null;
  readonly erased: EventDataOf<'SubjectErased'> | null;
}

export const initialErasureState: ErasureState = { status: 'none', subjectId: null, deviceId: null, receiptId: null, startedEventId: null, erased: null };

export function evolveErasure(state: ErasureState, event: RecordedEvent): ErasureState {
  switch (event.type) {
    case 'SubjectRegistered':
      return state.status === 'none' ? { ...state, status: 'active', subjectId: event.data.subjectId, deviceId: event.data.deviceId } : state;
    case 'SubjectErasureStarted':
      if (state.status === 'erasing' || state.status === 'erased') return state;
      return { ...state, status: 'erasing', subjectId: event.data.subjectId, receiptId: event.data.receiptId, startedEventId: event.id };
    case 'SubjectErased':
      if (state.status === 'erased') return state;
      return { ...state, status: 'erased', subjectId: event.data.subjectId, receiptId: event.data.receiptId, erased: event.data };
    default:
      return state;
  }
}

export function foldErasure(events: readonly RecordedEvent[]): ErasureState {
  return events.reduce(evolveErasure, initialErasureState);
}
