import type { AppConfig } from '../config/app-config';
import type { LifecycleRule } from '../object-storage/object-storage.port';

/**
 * The retention policy as data: one row per rule of the published privacy policy, with the event
 * that starts its clock, what closes it, the configured deadline and the action. The sweep, the
 * ledger projection, the compliance report and the verification check all read this table.
 */
export const RETENTION_RULE_NAMES = ['original-after-processing', 'temp-files', 'operation-logs', 'artworks'] as const;
export type RetentionRuleName = (typeof RETENTION_RULE_NAMES)[number];

export interface RetentionRule {
  readonly rule: RetentionRuleName;
  /** What is tracked, one ledger row each. */
  readonly item: string;
  /** The event(s) that start (or move) the clock. */
  readonly clockStartsAt: readonly string[];
  /** The event(s) that close the item. */
  readonly closedBy: readonly string[];
  /** The configuration variable holding the deadline, or null when there is none. */
  readonly deadlineVariable: string | null;
  /** What the policy promises. */
  readonly policy: string;
  /** What the service does when the item is due. */
  readonly action: string;
  /** The deadline in ms after the clock start (null: kept until the user deletes it). */
  readonly durationMs: (config: AppConfig) => number | null;
}

export const RETENTION_RULES: readonly RetentionRule[] = [
  {
    rule: 'original-after-processing',
    item: 'an uploaded original (`originals/<subjectId>/<imageId>`)',
    clockStartsAt: ['ImageUploaded', 'JobCompleted (the first one of the image, while it is held)'],
    closedBy: ['ImageDeleted'],
    deadlineVariable: 'RETENTION_ORIGINAL_MAX',
    policy: 'originals deleted within 24 h after processing completes',
    action:
      'DeleteImageCommand(reason "retention", rule, dueAt): the object is deleted, then ImageDeleted appended; unfinished jobs of the image are cancelled. ' +
      'An original whose purpose had its consent withdrawn while it was held is due at the withdrawal (reason "consent-withdrawn").',
    durationMs: (config) => config.retention.originalMaxMs,
  },
  {
    rule: 'temp-files',
    item: 'a temporary object a job wrote (`tmp/<subjectId>/<jobId>/<name>`)',
    clockStartsAt: ['JobCompleted', 'JobFailed', 'JobCancelled'],
    closedBy: ['TempFileDeleted'],
    deadlineVariable: 'RETENTION_TEMP_MAX',
    policy: 'temporary files cleared immediately after processing',
    action: 'the temp-file saga deletes them the moment the job ends; the sweep repairs anything still there RETENTION_TEMP_MAX later',
    durationMs: (config) => config.retention.tempFileMaxMs,
  },
  {
    rule: 'operation-logs',
    item: 'an operation-log entry (FaceDetectionLogged / ProcessingLogged in `oplog-<subjectId>`)',
    clockStartsAt: ['FaceDetectionLogged', 'ProcessingLogged'],
    closedBy: ['OperationLogsPurged'],
    deadlineVariable: 'RETENTION_OPLOG_MAX',
    policy: 'operation logs deleted after 7 days',
    action:
      'the oplog streams carry $maxAge = RETENTION_OPLOG_MAX (whole seconds), so expired entries are unreadable at once; the sweep purges them physically ' +
      '(embedded store: removed now; EventStoreDB: a scavenge) and records OperationLogsPurged',
    durationMs: (config) => oplogMaxAgeSeconds(config) * 1000,
  },
  {
    rule: 'artworks',
    item: 'a generated artwork (`artworks/<subjectId>/<artworkId>`)',
    clockStartsAt: ['ArtworkGenerated'],
    closedBy: ['ArtworkDeleted'],
    deadlineVariable: null,
    policy: 'artworks kept until the user deletes them or the account',
    action: 'deleted on the user’s request or with the account (DeleteArtworkCommand, erasure)',
    durationMs: () => null,
  },
];

export function ruleOf(name: RetentionRuleName): RetentionRule {
  const found = RETENTION_RULES.find((r) => r.rule === name);
  if (!found) throw new Error(`Unknown retention rule ${name}`);
  return found;
}

/**
 * How long after its due time a deletion still counts as on time: the sweep looks once per
 * RETENTION_SWEEP_INTERVAL, and one run of the sweep may take a few seconds.
 */
export const SWEEP_RUN_ALLOWANCE_MS = 5_000;

export function onTimeToleranceMs(config: AppConfig): number {
  return config.retention.sweepIntervalMs + SWEEP_RUN_ALLOWANCE_MS;
}

/** `$maxAge` of the operation-log streams: RETENTION_OPLOG_MAX in whole seconds, rounded down (never longer). */
export function oplogMaxAgeSeconds(config: AppConfig): number {
  return Math.max(1, Math.floor(config.retention.oplogMaxMs / 1000));
}

/** The durations the sweep, the report and the verification check use. */
export interface RetentionDurations {
  readonly originalMs: number;
  readonly tempFilesMs: number;
  readonly oplogMs: number;
  /** Grace after a due time within which a deletion counts as on time. */
  readonly toleranceMs: number;
}

export function retentionDurations(config: AppConfig): RetentionDurations {
  return {
    originalMs: ruleOf('original-after-processing').durationMs(config) as number,
    tempFilesMs: ruleOf('temp-files').durationMs(config) as number,
    oplogMs: ruleOf('operation-logs').durationMs(config) as number,
    toleranceMs: onTimeToleranceMs(config),
  };
}

/**
 * OSS bucket lifecycle rules set at boot as a backstop only: OSS expires by whole days, once a
 * day, up to ~48 h late, so these never keep the 24-hour promise; the sweep does.
 */
export const LIFECYCLE_BACKSTOP_DAYS = 2;
export const LIFECYCLE_BACKSTOP_RULES: readonly LifecycleRule[] = [
  { id: 'photo-memory-backstop-originals', prefix: 'originals/', days: LIFECYCLE_BACKSTOP_DAYS },
  { id: 'photo-memory-backstop-tmp', prefix: 'tmp/', days: LIFECYCLE_BACKSTOP_DAYS },
];

/** Object prefixes the orphan sweep walks: everything there must be referenced by an event. */
export const ORPHAN_PREFIXES = ['originals/', 'tmp/', 'artworks/'] as const;
