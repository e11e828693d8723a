import type { Database } from 'better-sqlite3';
import type { JsonValue, Position, StoredEvent } from '../../modules/event-store/event-store.port';

/** One finding of an independent check, e.g. `{ rule, resource, dueAt, deletedAt, latenessSeconds }`. No personal data. */
export type VerificationViolation = { readonly [key: string]: JsonValue };

export interface VerificationContext {
  /** When the verification runs (from the injected clock). */
  readonly now: Date;
}

export interface VerificationDatabases {
  /** The replay covered the log up to this position (inclusive); null for an empty log. */
  readonly verifiedUpTo: Position | null;
  /** The freshly replayed read models (scratch database, read-write). */
  readonly replayed: Database;
  /** The live read models, as a read-only snapshot taken at `verifiedUpTo`. */
  readonly live: Database;
}

/** One run of a check: sees every replayed event, then reports. */
export interface VerificationCheckRun {
  /** Every event of the replay, once, in log order, in batches (keep no more than a summary per item). */
  onEvents?(events: readonly StoredEvent[]): void;
  finish(databases: VerificationDatabases): Promise<readonly VerificationViolation[]> | readonly VerificationViolation[];
}

/**
 * A check that the verification runs next to the projection comparison, re-deriving something
 * from the log independently (the retention rules: every deadline and whether it was kept). Its
 * violations are reported in `retentionViolations`, each tagged with the check's name.
 */
export interface VerificationCheck {
  readonly name: string;
  start(context: VerificationContext): VerificationCheckRun;
}
