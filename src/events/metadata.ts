import type { JsonValue } from '../modules/event-store/event-store.port';

/**
 * Who did it: `subject:<id>`, `auditor:<name>`, `dpo:<name>`, `system:retention`,
 * `system:processing`, `system:rights`, `system:erasure`.
 */
export type Actor = `subject:${string}` | `auditor:${string}` | `dpo:${string}` | `system:${string}`;

/** Metadata on every event. */
export interface EventMetadata {
  [key: string]: JsonValue | undefined;
  /** When it happened, from the injected clock (ISO-8601 UTC). */
  occurredAt: string;
  actor: Actor;
  /** The request or saga run this event belongs to. */
  correlationId: string;
  /** The event or request that caused it. */
  causationId: string | null;
  schemaVersion: number;
  /** The subject whose data this is, when there is one (key for decryption, filters). */
  subjectId: string | null;
  /** SHA-256 of the canonical request, for Idempotency-Key replays. */
  requestHash?: string;
}

export function isActor(value: unknown): value is Actor {
  return typeof value === 'string' && /^(subject|auditor|dpo|system):[^\s]{1,128}$/.test(value);
}
