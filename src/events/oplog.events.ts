import { defineEvent } from './define-event';
import { PURPOSES } from './purposes';
import { s } from './schema';

/**
 * `oplog-<subjectId>`: operation logs. No image content, no face geometry. The streams carry a
 * 7-day `maxAge` and expired entries are physically purged (rule `operation-logs`).
 */
export const FaceDetectionLogged = defineEvent(
  'FaceDetectionLogged',
  'oplog',
  { subjectId: s.uuid(), imageId: s.uuid(), purpose: s.enum(PURPOSES), faceCount: s.int({ min: 0 }) },
  { resourceOf: (d) => `image:${d.imageId}` },
);

export const ProcessingLogged = defineEvent(
  'ProcessingLogged',
  'oplog',
  {
    subjectId: s.uuid(),
    jobId: s.uuid(),
    imageId: s.uuid(),
    purpose: s.enum(PURPOSES),
    step: s.enum(['started', 'completed', 'failed', 'cancelled'] as const),
    durationMs: s.optional(s.int({ min: 0 })),
    code: s.optional(s.string({ max: 64 })),
  },
  { resourceOf: (d) => `job:${d.jobId}` },
);

export const oplogEvents = { FaceDetectionLogged, ProcessingLogged } as const;
