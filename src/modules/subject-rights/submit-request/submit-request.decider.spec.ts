import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { history } from '../../consent/subject-history.fixture';
import { foldSubject, type ConsentVerdict } from '../../consent/subject.state';
import { foldArtwork } from '../../facial-data/artworks/artwork.state';
import { foldImage } from '../../facial-data/images/image.state';
import { foldJob } from '../../facial-data/jobs/job.state';
import { foldRequest, initialRequestState } from '../requests/request.state';
import { parseResource } from '../requests/rights-resource';
import { decideSubmitRequest, type RequestTarget, type SubmitRequestInput, type SubmitRequestPast } from './submit-request.decider';

const S = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const R = '33333333-3333-4333-8333-333333333333';
const IMG = '44444444-4444-4444-8444-444444444444';
const JOB = '55555555-5555-4555-8555-555555555555';
const ART = '66666666-6666-4666-8666-666666666666';
const RERUN = '77777777-7777-4777-8777-777777777777';
const V = '2025-06-24';
const RECEIVED = new Date('2026-03-06T12:00:00.000Z');
const DUE = new Date('2026-03-13T15:59:59.999Z');

const activeSubject = foldSubject(
  history(`subject-${S}`, [
    { type: 'SubjectRegistered', data: { subjectId: S, deviceId: 'device-1', ageBasis: 'adult', policyVersion: V } },
    { type: 'AdultConfirmed', data: { subjectId: S } },
  ]),
);

const uploaded = (subjectId = S): DomainEvent => ({
  type: 'ImageUploaded',
  data: { imageId: IMG, subjectId, purpose: 'erase-pen', contentType: 'image/jpeg', objectKey: `originals/${subjectId}/${IMG}`, size: 10, sha256: 'a'.repeat(64), width: 64, height: 48, faceCount: 1, faces: [{ x: 1, y: 1, width: 5, height: 5 }] },
});
const image = (...more: DomainEvent[]) => foldImage(history(`image-${IMG}`, [uploaded(), ...more]));
const jobEvents = (subjectId = S, completed = true): DomainEvent[] => [
  { type: 'JobQueued', data: { jobId: JOB, imageId: IMG, subjectId, purpose: 'erase-pen', options: { regions: [{ x: 1, y: 1, width: 2, height: 2 }] } } },
  ...(completed
    ? ([
        { type: 'JobStarted', data: { jobId: JOB, subjectId, imageId: IMG, purpose: 'erase-pen', attempt: 1, worker: 'w', leaseUntil: '2026-03-02T03:00:00.000Z' } },
        { type: 'JobCompleted', data: { jobId: JOB, subjectId, imageId: IMG, purpose: 'erase-pen', artworkId: ART, summary: {} } },
      ] as DomainEvent[])
    : []),
];
const allowed: ConsentVerdict = { allowed: true };
const jobTarget = (opts: { subjectId?: string; completed?: boolean; imageDeleted?: boolean; consent?: ConsentVerdict } = {}): RequestTarget => ({
  kind: 'job',
  job: foldJob(history(`job-${JOB}`, jobEvents(opts.subjectId ?? S, opts.completed ?? true))),
  image: opts.imageDeleted
    ? image({ type: 'ImageDeleted', data: { imageId: IMG, subjectId: S, purpose: 'erase-pen', objectKey: `originals/${S}/${IMG}`, reason: 'retention' } })
    : image(),
  consent: opts.consent ?? allowed,
});

const past = (target: RequestTarget = { kind: 'none' }, request = initialRequestState): SubmitRequestPast => ({ subject: activeSubject, request, target, currentPolicyVersion: V });
const input = (over: Partial<Omit<SubmitRequestInput, 'resource'>> & { resource?: string | null } = {}): SubmitRequestInput => ({
  requestId: R,
  subjectId: S,
  type: 'access',
  details: null,
  options: null,
  receivedAt: RECEIVED,
  dueAt: DUE,
  requestHash: null,
  correctionJobId: RERUN,
  ...over,
  resource: over.resource ? parseResource(over.resource) : null,
});

function refusal(run: () => unknown): { status: number; code: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return { status: error.status, code: error.code };
    throw error;
  }
  throw new Error('expected a refusal');
}

const received = (over: Record<string, unknown> = {}) => ({
  type: 'RightsRequestReceived',
  data: { requestId: R, subjectId: S, type: 'access', resource: null, details: null, receivedAt: RECEIVED.toISOString(), dueAt: DUE.toISOString(), needsDecision: false, ...over },
});

describe('submit a rights request', () => {
  it('given an open account, when access is asked without details, then received with its deadline and the snapshot step started', () => {
    const decision = decideSubmitRequest(past(), input());
    expect(decision).toEqual({
      kind: 'receive',
      plan: { kind: 'history-snapshot' },
      events: [received(), { type: 'RightsRequestProcessingStarted', data: { requestId: R, subjectId: S, step: 'history-snapshot' } }],
    });
  });

  it('given any request with details, then it waits for the DPO (only RightsRequestReceived, needsDecision)', () => {
    for (const type of ['access', 'export', 'restriction'] as const) {
      const decision = decideSubmitRequest(past(), input({ type, details: 'please' }));
      expect(decision).toEqual({ kind: 'receive', plan: { kind: 'dpo' }, events: [received({ type, details: 'please', needsDecision: true })] });
    }
    const deletion = decideSubmitRequest(past({ kind: 'image', image: image() }), input({ type: 'deletion', resource: `image:${IMG}`, details: 'please' }));
    expect(deletion).toMatchObject({ plan: { kind: 'dpo' }, events: [received({ type: 'deletion', resource: `image:${IMG}`, details: 'please', needsDecision: true })] });
  });

  it('given the subject’s image or artwork, when its deletion is asked, then the deletion step; a purpose restriction, the restriction step; an export, the link', () => {
    expect(decideSubmitRequest(past({ kind: 'image', image: image() }), input({ type: 'deletion', resource: `image:${IMG}` }))).toMatchObject({ plan: { kind: 'delete-image', imageId: IMG } });
    const artwork = foldArtwork(
      history(`artwork-${ART}`, [
        { type: 'ArtworkGenerated', data: { artworkId: ART, subjectId: S, jobId: JOB, imageId: IMG, purpose: 'erase-pen', objectKey: `artworks/${S}/${ART}`, contentType: 'image/png', size: 1, sha256: 'b'.repeat(64), width: 1, height: 1 } },
      ]),
    );
    expect(decideSubmitRequest(past({ kind: 'artwork', artwork }), input({ type: 'deletion', resource: `artwork:${ART}` }))).toMatchObject({ plan: { kind: 'delete-artwork', artworkId: ART } });
    expect(decideSubmitRequest(past({ kind: 'purpose' }), input({ type: 'restriction', resource: 'purpose:ai-edit' }))).toMatchObject({
      plan: { kind: 'restrict', purpose: 'ai-edit' },
      events: [received({ type: 'restriction', resource: 'purpose:ai-edit' }), { type: 'RightsRequestProcessingStarted', data: { step: 'restrict' } }],
    });
    expect(decideSubmitRequest(past(), input({ type: 'export' }))).toMatchObject({ plan: { kind: 'export-link' } });
  });

  it('given a completed job, when a correction brings options, then the re-run job is planned (correctionOf, requestId, the same image and purpose)', () => {
    const options = { regions: [{ x: 3, y: 3, width: 4, height: 4 }] };
    const decision = decideSubmitRequest(past(jobTarget()), input({ type: 'correction', resource: `job:${JOB}`, options }));
    expect(decision).toEqual({
      kind: 'receive',
      plan: { kind: 'reprocess', job: { type: 'JobQueued', data: { jobId: RERUN, imageId: IMG, subjectId: S, purpose: 'erase-pen', options, correctionOf: JOB, requestId: R } } },
      events: [received({ type: 'correction', resource: `job:${JOB}` }), { type: 'RightsRequestProcessingStarted', data: { requestId: R, subjectId: S, step: 'reprocess' } }],
    });
  });

  it('given a correction that cannot run (original deleted, consent withdrawn), then received and rejected at once with the reason', () => {
    const gone = decideSubmitRequest(past(jobTarget({ imageDeleted: true })), input({ type: 'correction', resource: `job:${JOB}`, options: {} }));
    expect(gone).toMatchObject({ kind: 'receive', plan: { kind: 'reject' } });
    if (gone.kind !== 'receive') throw new Error('unreachable');
    expect(gone.events.map((e) => e.type)).toEqual(['RightsRequestReceived', 'RightsRequestRejected']);
    expect(gone.events[1].data).toMatchObject({ decidedBy: 'system:rights', reason: expect.stringContaining('has already been deleted') });
    const noConsent = decideSubmitRequest(
      past(jobTarget({ consent: { allowed: false, code: 'CONSENT_REQUIRED', reason: 'Separate consent to erase-pen is required' } })),
      input({ type: 'correction', resource: `job:${JOB}`, options: {} }),
    );
    expect(noConsent).toMatchObject({ plan: { kind: 'reject', reason: 'The job cannot be re-run: Separate consent to erase-pen is required.' } });
  });

  it('refusals, in order: erased account 401, options elsewhere, resource rules, ownership 404, unfinished job, biometric templates', () => {
    const erased = { ...past(), subject: { ...activeSubject, status: 'erasing' as const } };
    expect(refusal(() => decideSubmitRequest(erased, input()))).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    expect(refusal(() => decideSubmitRequest(past(), input({ options: {} })))).toEqual({ status: 422, code: 'OPTIONS_NOT_APPLICABLE' });
    expect(refusal(() => decideSubmitRequest(past({ kind: 'purpose' }), input({ type: 'export', resource: 'purpose:ai-edit' })))).toEqual({ status: 422, code: 'RESOURCE_NOT_APPLICABLE' });
    expect(refusal(() => decideSubmitRequest(past(), input({ type: 'deletion' })))).toEqual({ status: 422, code: 'RESOURCE_REQUIRED' });
    expect(refusal(() => decideSubmitRequest(past(), input({ type: 'restriction' })))).toEqual({ status: 422, code: 'RESOURCE_REQUIRED' });
    expect(refusal(() => decideSubmitRequest(past(), input({ type: 'correction', options: {} })))).toEqual({ status: 422, code: 'RESOURCE_REQUIRED' });
    expect(refusal(() => decideSubmitRequest(past(jobTarget()), input({ type: 'deletion', resource: `job:${JOB}` })))).toEqual({ status: 422, code: 'UNSUPPORTED_RESOURCE' });
    expect(refusal(() => decideSubmitRequest(past(jobTarget()), input({ type: 'correction', resource: `job:${JOB}` })))).toEqual({ status: 422, code: 'CORRECTION_DETAILS_REQUIRED' });
    expect(refusal(() => decideSubmitRequest(past(jobTarget()), input({ type: 'correction', resource: `job:${JOB}`, options: {}, details: 'x' })))).toEqual({ status: 422, code: 'OPTIONS_WITH_DETAILS' });
    expect(refusal(() => decideSubmitRequest(past({ kind: 'image', image: foldImage(history(`image-${IMG}`, [uploaded(OTHER)])) }), input({ type: 'deletion', resource: `image:${IMG}` })))).toEqual({
      status: 404,
      code: 'IMAGE_NOT_FOUND',
    });
    expect(refusal(() => decideSubmitRequest(past(jobTarget({ subjectId: OTHER })), input({ type: 'correction', resource: `job:${JOB}`, details: 'x' })))).toEqual({ status: 404, code: 'JOB_NOT_FOUND' });
    expect(refusal(() => decideSubmitRequest(past(jobTarget({ completed: false })), input({ type: 'correction', resource: `job:${JOB}`, options: {} })))).toEqual({ status: 422, code: 'JOB_NOT_COMPLETED' });
    expect(refusal(() => decideSubmitRequest(past(jobTarget()), input({ type: 'correction', resource: `job:${JOB}`, options: { landmarks: [1, 2, 3] } })))).toEqual({
      status: 422,
      code: 'BIOMETRIC_TEMPLATE_REJECTED',
    });
    expect(refusal(() => parseResource('purpose:face-swap'))).toEqual({ status: 422, code: 'PURPOSE_NOT_ALLOWED' });
    expect(refusal(() => parseResource('image:x'))).toEqual({ status: 400, code: 'INVALID_RESOURCE' });
  });

  it('given the request stream already holds this Idempotency-Key’s request, then a replay with the same hash, 422 with another', () => {
    const existing = foldRequest(history(`request-${R}`, [{ event: received() as DomainEvent, metadata: { requestHash: 'h1' } }]));
    expect(decideSubmitRequest(past({ kind: 'none' }, existing), input({ requestHash: 'h1' }))).toEqual({ kind: 'replay' });
    expect(refusal(() => decideSubmitRequest(past({ kind: 'none' }, existing), input({ requestHash: 'h2' })))).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(refusal(() => decideSubmitRequest(past({ kind: 'none' }, existing), input({ requestHash: 'h1', subjectId: OTHER })))).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
  });
});
