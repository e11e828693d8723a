import type { JsonObject } from '../modules/event-store/event-store.port';
import { auditEvents } from './audit.events';
import { consentEvents } from './consent.events';
import type { EventDefinition } from './define-event';
import { facialDataEvents } from './facial-data.events';
import { identityEvents } from './identity.events';
import { oplogEvents } from './oplog.events';
import type { Infer } from './schema';
import { subjectRightsEvents } from './subject-rights.events';

/** The catalogue: every event type string the service writes, with its schema. Never rename one. */
export const EVENT_CATALOGUE = {
  ...identityEvents,
  ...consentEvents,
  ...facialDataEvents,
  ...subjectRightsEvents,
  ...oplogEvents,
  ...auditEvents,
} as const;

type Catalogue = typeof EVENT_CATALOGUE;
export type EventType = keyof Catalogue;
export type EventDataOf<T extends EventType> = Infer<Catalogue[T]['schema']>;

/** A domain event as deciders produce it and projections see it (personal fields decrypted or shredded). */
export type DomainEvent = { [K in EventType]: { readonly type: K; readonly data: EventDataOf<K> } }[EventType];
export type EventOfType<T extends EventType> = Extract<DomainEvent, { type: T }>;

export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_CATALOGUE, type);
}

export function definitionOf(type: string): EventDefinition | undefined {
  return isEventType(type) ? (EVENT_CATALOGUE[type] as unknown as EventDefinition) : undefined;
}

export class EventSchemaError extends Error {
  constructor(readonly type: string, readonly problem: string) {
    super(`Event ${type} does not match its schema: ${problem}`);
    this.name = 'EventSchemaError';
  }
}

/** Throws EventSchemaError when `data` is not a valid payload of `type` at the current version. */
export function validateEventData(type: string, data: unknown): void {
  const definition = definitionOf(type);
  if (!definition) throw new EventSchemaError(type, 'unknown event type');
  const problem = definition.schema.check(data, 'data');
  if (problem) throw new EventSchemaError(type, problem);
}

/**
 * Brings stored data written with an older schema version up to the current one, through the
 * definition's upcasters (v → v+1, in order). Unknown types pass through unchanged.
 */
export function upcast(type: string, data: JsonObject, storedVersion: number): JsonObject {
  const definition = definitionOf(type);
  if (!definition || storedVersion >= definition.schemaVersion) return data;
  let current = data;
  for (let v = storedVersion; v < definition.schemaVersion; v++) {
    const step = definition.upcasters[v];
    if (!step) throw new EventSchemaError(type, `no upcaster from schema version ${v}`);
    current = step(current);
  }
  return current;
}

/** `image:<id>` etc. for the history and audit views. */
export function resourceOf(type: string, data: JsonObject): string {
  const definition = definitionOf(type);
  return definition ? definition.resourceOf(data as never) : 'unknown';
}
