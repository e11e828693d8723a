import { defineEvent } from './define-event';
import { s } from './schema';

export const REQUEST_TYPES = ['access', 'export', 'deletion', 'correction', 'restriction'] as const;
export type RightsRequestType = (typeof REQUEST_TYPES)[number];

/** `request-<requestId>`: one stream per rights request. */
export const RightsRequestReceived = defineEvent(
  'RightsRequestReceived',
  'request',
  {
    requestId: s.uuid(),
    subjectId: s.uuid(),
    type: s.enum(REQUEST_TYPES),
    /** e.g. `image:<id>`, `artwork:<id>`, `job:<id>`, `purpose:<purpose>`. Non-personal ids only. */
    resource: s.nullable(s.string({ max: 128 })),
    /** Free text from the subject. Personal: encrypted. */
    details: s.personal(s.nullable(s.string({ max: 4000 }))),
    receivedAt: s.isoDate(),
    /** 5 business days after receipt, Asia/Shanghai. */
    dueAt: s.isoDate(),
    /** Whether a DPO must decide (the system cannot fulfil it on its own). */
    needsDecision: s.boolean(),
  },
  { resourceOf: (d) => `request:${d.requestId}` },
);

export const RightsRequestProcessingStarted = defineEvent(
  'RightsRequestProcessingStarted',
  'request',
  { requestId: s.uuid(), subjectId: s.uuid(), step: s.string({ max: 128 }) },
  { resourceOf: (d) => `request:${d.requestId}` },
);

export const RightsRequestFulfilled = defineEvent(
  'RightsRequestFulfilled',
  'request',
  {
    requestId: s.uuid(),
    subjectId: s.uuid(),
    /** `system:rights` or `dpo:<name>`. */
    decidedBy: s.string({ max: 128 }),
    /** What was done, non-personal: e.g. `{ action: 'history-snapshot', events: 42 }`. */
    outcome: s.scalarRecord(),
    /** The DPO's note to the subject, if any. Personal: encrypted. */
    note: s.personal(s.nullable(s.string({ max: 4000 }))),
  },
  { resourceOf: (d) => `request:${d.requestId}` },
);

export const RightsRequestRejected = defineEvent(
  'RightsRequestRejected',
  'request',
  {
    requestId: s.uuid(),
    subjectId: s.uuid(),
    decidedBy: s.string({ max: 128 }),
    /** Shown to the subject (PIPL Art. 50: refusals with reasons). Personal: encrypted. */
    reason: s.personal(s.string({ min: 1, max: 4000 })),
  },
  { resourceOf: (d) => `request:${d.requestId}` },
);

export const RightsRequestOverdue = defineEvent(
  'RightsRequestOverdue',
  'request',
  { requestId: s.uuid(), subjectId: s.uuid(), dueAt: s.isoDate(), detectedAt: s.isoDate() },
  { resourceOf: (d) => `request:${d.requestId}` },
);

export const DataExported = defineEvent(
  'DataExported',
  'request',
  {
    requestId: s.uuid(),
    subjectId: s.uuid(),
    images: s.int({ min: 0 }),
    artworks: s.int({ min: 0 }),
    files: s.array(s.string({ max: 256 }), { max: 10_000 }),
  },
  { resourceOf: (d) => `request:${d.requestId}` },
);

export const subjectRightsEvents = {
  RightsRequestReceived,
  RightsRequestProcessingStarted,
  RightsRequestFulfilled,
  RightsRequestRejected,
  RightsRequestOverdue,
  DataExported,
} as const;
