import { defineEvent } from './define-event';
import { PURPOSES } from './purposes';
import { s } from './schema';

/** Why content was read: shown as the purpose of access in the access log. */
export const ACCESS_PURPOSES = ['subject-view', 'data-export', 'processing'] as const;
export type AccessPurpose = (typeof ACCESS_PURPOSES)[number];

export const IMAGE_DELETION_REASONS = ['user', 'retention', 'consent-withdrawn', 'erasure', 'rights-request'] as const;
export type ImageDeletionReason = (typeof IMAGE_DELETION_REASONS)[number];

export const JOB_CANCEL_REASONS = ['consent-withdrawn', 'restricted', 'original-deleted', 'erasure'] as const;
export type JobCancelReason = (typeof JOB_CANCEL_REASONS)[number];

export const ARTWORK_DELETION_REASONS = ['user', 'superseded', 'erasure', 'rights-request'] as const;
export type ArtworkDeletionReason = (typeof ARTWORK_DELETION_REASONS)[number];

const faceBox = s.object({ x: s.number(), y: s.number(), width: s.number(), height: s.number() });
const sha256 = s.string({ min: 64, max: 64 });
const objectKey = s.string({ min: 1, max: 512 });

/** `image-<imageId>`: the original. Never its bytes: key, size, hash, purpose. */
export const ImageUploaded = defineEvent(
  'ImageUploaded',
  'image',
  {
    imageId: s.uuid(),
    subjectId: s.uuid(),
    purpose: s.enum(PURPOSES),
    contentType: s.enum(['image/jpeg', 'image/png', 'image/heic'] as const),
    objectKey,
    size: s.int({ min: 1 }),
    sha256,
    width: s.int({ min: 1 }),
    height: s.int({ min: 1 }),
    faceCount: s.int({ min: 0 }),
    /** Face boxes (basic geometry only, never a template). Personal: encrypted. */
    faces: s.personal(s.array(faceBox, { max: 64 })),
  },
  { resourceOf: (d) => `image:${d.imageId}` },
);

export const ImageViewed = defineEvent(
  'ImageViewed',
  'image',
  { imageId: s.uuid(), subjectId: s.uuid(), purpose: s.enum(ACCESS_PURPOSES), dataPurpose: s.enum(PURPOSES) },
  { resourceOf: (d) => `image:${d.imageId}` },
);

export const ImageDeleted = defineEvent(
  'ImageDeleted',
  'image',
  {
    imageId: s.uuid(),
    subjectId: s.uuid(),
    purpose: s.enum(PURPOSES),
    objectKey,
    reason: s.enum(IMAGE_DELETION_REASONS),
    /** For retention deletions: the rule and the deadline it was due by. */
    rule: s.optional(s.enum(['original-after-processing'] as const)),
    dueAt: s.optional(s.isoDate()),
    requestId: s.optional(s.uuid()),
  },
  { resourceOf: (d) => `image:${d.imageId}` },
);

/** `job-<jobId>`. */
export const JobQueued = defineEvent(
  'JobQueued',
  'job',
  {
    jobId: s.uuid(),
    imageId: s.uuid(),
    subjectId: s.uuid(),
    purpose: s.enum(PURPOSES),
    /** Processing options (e.g. erase-pen regions on the face picture). Personal: encrypted. */
    options: s.personal(s.json()),
    /** Set when the job re-runs another one for a correction request. */
    correctionOf: s.optional(s.uuid()),
    requestId: s.optional(s.uuid()),
  },
  { resourceOf: (d) => `job:${d.jobId}` },
);

export const JobStarted = defineEvent(
  'JobStarted',
  'job',
  {
    jobId: s.uuid(),
    subjectId: s.uuid(),
    imageId: s.uuid(),
    purpose: s.enum(PURPOSES),
    attempt: s.int({ min: 1 }),
    worker: s.string({ max: 128 }),
    /** Until when this worker owns the job; after that another worker may resume it. */
    leaseUntil: s.isoDate(),
  },
  { resourceOf: (d) => `job:${d.jobId}` },
);

export const TempFileCreated = defineEvent(
  'TempFileCreated',
  'job',
  { jobId: s.uuid(), subjectId: s.uuid(), objectKey, kind: s.enum(['input', 'intermediate'] as const), size: s.int({ min: 0 }) },
  { resourceOf: (d) => `job:${d.jobId}` },
);

export const TempFileDeleted = defineEvent(
  'TempFileDeleted',
  'job',
  { jobId: s.uuid(), subjectId: s.uuid(), objectKey, reason: s.enum(['retention', 'erasure'] as const), rule: s.literal('temp-files') },
  { resourceOf: (d) => `job:${d.jobId}` },
);

/** Every hand-over of facial data to a processor (PIPL Art. 23 / GDPR Art. 30 records). */
export const DataDisclosedToProcessor = defineEvent(
  'DataDisclosedToProcessor',
  'job',
  {
    jobId: s.uuid(),
    subjectId: s.uuid(),
    imageId: s.uuid(),
    processor: s.string({ min: 1, max: 256 }),
    purpose: s.enum(PURPOSES),
    objectSha256: sha256,
    bytes: s.int({ min: 0 }),
  },
  { resourceOf: (d) => `job:${d.jobId}` },
);

export const JobCompleted = defineEvent(
  'JobCompleted',
  'job',
  {
    jobId: s.uuid(),
    subjectId: s.uuid(),
    imageId: s.uuid(),
    purpose: s.enum(PURPOSES),
    artworkId: s.nullable(s.uuid()),
    summary: s.scalarRecord(),
  },
  { resourceOf: (d) => `job:${d.jobId}` },
);

export const JobFailed = defineEvent(
  'JobFailed',
  'job',
  {
    jobId: s.uuid(),
    subjectId: s.uuid(),
    imageId: s.uuid(),
    purpose: s.enum(PURPOSES),
    code: s.string({ min: 1, max: 64 }),
    /** Non-personal explanation. */
    message: s.string({ max: 512 }),
  },
  { resourceOf: (d) => `job:${d.jobId}` },
);

export const JobCancelled = defineEvent(
  'JobCancelled',
  'job',
  { jobId: s.uuid(), subjectId: s.uuid(), imageId: s.uuid(), purpose: s.enum(PURPOSES), reason: s.enum(JOB_CANCEL_REASONS) },
  { resourceOf: (d) => `job:${d.jobId}` },
);

/** `artwork-<artworkId>`: kept until the user deletes it or the account. */
export const ArtworkGenerated = defineEvent(
  'ArtworkGenerated',
  'artwork',
  {
    artworkId: s.uuid(),
    subjectId: s.uuid(),
    jobId: s.uuid(),
    imageId: s.uuid(),
    purpose: s.enum(PURPOSES),
    objectKey,
    contentType: s.enum(['image/jpeg', 'image/png'] as const),
    size: s.int({ min: 1 }),
    sha256,
    width: s.int({ min: 1 }),
    height: s.int({ min: 1 }),
  },
  { resourceOf: (d) => `artwork:${d.artworkId}` },
);

export const ArtworkViewed = defineEvent(
  'ArtworkViewed',
  'artwork',
  { artworkId: s.uuid(), subjectId: s.uuid(), purpose: s.enum(ACCESS_PURPOSES), dataPurpose: s.enum(PURPOSES) },
  { resourceOf: (d) => `artwork:${d.artworkId}` },
);

export const ArtworkDeleted = defineEvent(
  'ArtworkDeleted',
  'artwork',
  {
    artworkId: s.uuid(),
    subjectId: s.uuid(),
    purpose: s.enum(PURPOSES),
    objectKey,
    reason: s.enum(ARTWORK_DELETION_REASONS),
    requestId: s.optional(s.uuid()),
  },
  { resourceOf: (d) => `artwork:${d.artworkId}` },
);

export const facialDataEvents = {
  ImageUploaded,
  ImageViewed,
  ImageDeleted,
  JobQueued,
  JobStarted,
  TempFileCreated,
  TempFileDeleted,
  DataDisclosedToProcessor,
  JobCompleted,
  JobFailed,
  JobCancelled,
  ArtworkGenerated,
  ArtworkViewed,
  ArtworkDeleted,
} as const;
