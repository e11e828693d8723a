import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events';
import { SHREDDED } from '../../../events/schema';
import { history } from '../../consent/subject-history.fixture';
import { foldJob } from '../../facial-data/jobs/job.state';
import { foldDevice } from '../../identity/devices/device.state';
import { decideDeviceRelease, decideErasureFinish, decideErasureStart, decideTempFilesErasure, type ErasureCounts } from './erase-account.decider';
import { foldErasure } from './erasure.state';

const S = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const RECEIPT = '33333333-3333-4333-8333-333333333333';
const NEW_RECEIPT = '44444444-4444-4444-8444-444444444444';
const JOB = '55555555-5555-4555-8555-555555555555';
const HASH = 'f'.repeat(64);

const registered: DomainEvent[] = [
  { type: 'SubjectRegistered', data: { subjectId: S, deviceId: 'device-1', ageBasis: 'adult', policyVersion: '2025-06-24' } },
  { type: 'AdultConfirmed', data: { subjectId: S } },
];
const started: DomainEvent = { type: 'SubjectErasureStarted', data: { subjectId: S, receiptId: RECEIPT } };
const counts: ErasureCounts = { imagesDeleted: 2, artworksDeleted: 1, tempFilesDeleted: 3, exportsDeleted: 0, otherObjectsDeleted: 1, jobsCancelled: 1, operationLogTombstoned: true };
const given = (...events: DomainEvent[]) => foldErasure(history(`subject-${S}`, [...registered, ...events]));
const erasedAt = new Date('2026-03-02T02:10:00.000Z');

describe('account erasure decisions', () => {
  it('given an open account, when erasure is asked, then SubjectErasureStarted with a new receipt id', () => {
    expect(decideErasureStart(given(), NEW_RECEIPT)).toEqual({
      kind: 'start',
      receiptId: NEW_RECEIPT,
      event: { type: 'SubjectErasureStarted', data: { subjectId: S, receiptId: NEW_RECEIPT } },
    });
  });

  it('given an erasure under way (a crash, a concurrent call), then resume it with its receipt id and append nothing', () => {
    expect(decideErasureStart(given(started), NEW_RECEIPT)).toEqual({ kind: 'resume', receiptId: RECEIPT });
  });

  it('given a finished erasure, then answer its receipt; given no account, then 401', () => {
    const { events } = decideErasureFinish(given(started), counts, erasedAt);
    expect(decideErasureStart(given(started, ...events), NEW_RECEIPT)).toEqual({
      kind: 'done',
      receipt: { subjectId: S, erasedAt: erasedAt.toISOString(), objectsDeleted: 7, keyDestroyed: true, receiptId: RECEIPT },
    });
    try {
      decideErasureStart(foldErasure([]), NEW_RECEIPT);
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).status).toBe(401);
    }
  });

  it('given an erasure under way, when finished, then one SubjectErased with counts and times only; given it finished, then nothing more', () => {
    const finish = decideErasureFinish(given(started), counts, erasedAt);
    expect(finish.events).toEqual([
      {
        type: 'SubjectErased',
        data: {
          subjectId: S,
          receiptId: RECEIPT,
          erasedAt: erasedAt.toISOString(),
          objectsDeleted: 7,
          imagesDeleted: 2,
          artworksDeleted: 1,
          tempFilesDeleted: 3,
          exportsDeleted: 0,
          jobsCancelled: 1,
          keyDestroyed: true,
          operationLogTombstoned: true,
        },
      },
    ]);
    const again = decideErasureFinish(given(started, ...finish.events), { ...counts, imagesDeleted: 99 }, new Date('2026-03-03T00:00:00.000Z'));
    expect(again).toEqual({ events: [], receipt: finish.receipt });
    expect(() => decideErasureFinish(given(), counts, erasedAt)).toThrow(/has not started/);
  });

  it('the device id is read while the key exists, and reads as shredded afterwards', () => {
    expect(given(started).deviceId).toBe('device-1');
    const shredded = foldErasure(history(`subject-${S}`, [{ type: 'SubjectRegistered', data: { subjectId: S, deviceId: SHREDDED, ageBasis: 'adult', policyVersion: 'v' } }]));
    expect(shredded.deviceId).toBe(SHREDDED);
  });

  it('given the device bound to this account, then DeviceReleased; bound to another account (re-registered) or released, then nothing', () => {
    const bound = foldDevice(history(`device-${HASH}`, [{ type: 'DeviceRegistered', data: { subjectId: S, deviceHash: HASH, secretHash: 'scrypt$x' } }]));
    expect(decideDeviceRelease(bound, S, HASH)).toEqual([{ type: 'DeviceReleased', data: { subjectId: S, deviceHash: HASH, reason: 'erasure' } }]);
    const released = foldDevice(
      history(`device-${HASH}`, [
        { type: 'DeviceRegistered', data: { subjectId: S, deviceHash: HASH, secretHash: 'scrypt$x' } },
        { type: 'DeviceReleased', data: { subjectId: S, deviceHash: HASH, reason: 'erasure' } },
      ]),
    );
    expect(decideDeviceRelease(released, S, HASH)).toEqual([]);
    const rebound = foldDevice(
      history(`device-${HASH}`, [
        { type: 'DeviceRegistered', data: { subjectId: S, deviceHash: HASH, secretHash: 'scrypt$x' } },
        { type: 'DeviceReleased', data: { subjectId: S, deviceHash: HASH, reason: 'erasure' } },
        { type: 'DeviceRegistered', data: { subjectId: OTHER, deviceHash: HASH, secretHash: 'scrypt$y' } },
      ]),
    );
    expect(decideDeviceRelease(rebound, S, HASH)).toEqual([]);
  });

  it('given a job with live temporary objects, then one TempFileDeleted (reason erasure) each; another subject’s job, nothing', () => {
    const base = { jobId: JOB, subjectId: S, imageId: OTHER, purpose: 'photo-enlarge' as const };
    const job = foldJob(
      history(`job-${JOB}`, [
        { type: 'JobQueued', data: { ...base, options: {} } },
        { type: 'TempFileCreated', data: { jobId: JOB, subjectId: S, objectKey: `tmp/${S}/${JOB}/input`, kind: 'input', size: 1 } },
        { type: 'TempFileCreated', data: { jobId: JOB, subjectId: S, objectKey: `tmp/${S}/${JOB}/mid`, kind: 'intermediate', size: 1 } },
        { type: 'TempFileDeleted', data: { jobId: JOB, subjectId: S, objectKey: `tmp/${S}/${JOB}/input`, reason: 'retention', rule: 'temp-files' } },
      ]),
    );
    expect(decideTempFilesErasure(job, S)).toEqual([
      { type: 'TempFileDeleted', data: { jobId: JOB, subjectId: S, objectKey: `tmp/${S}/${JOB}/mid`, reason: 'erasure', rule: 'temp-files' } },
    ]);
    expect(decideTempFilesErasure(job, OTHER)).toEqual([]);
  });
});
