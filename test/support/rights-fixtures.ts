/** Shared steps of the rights and erasure end-to-end specs. */
import { ProcessingWorker } from '../../src/modules/facial-data/processing-worker/processing-worker';
import { TempFilesSaga } from '../../src/modules/facial-data/temp-files/temp-files.saga';
import { CorrectionSaga } from '../../src/modules/subject-rights/correct-job/correction.saga';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { base64Of, type FixtureImage } from '../fixtures/images';
import { bearer, type registerSubject, STAFF, type TestApp } from './test-app';

export type Subject = Awaited<ReturnType<typeof registerSubject>>;

/** Unusual numbers, so a raw search for them in clear means something. */
export const FACE = { x: 7.25, y: 5.5, width: 13.75, height: 17.125 } as const;

export async function grantConsent(t: TestApp, subject: Subject, purpose: string): Promise<void> {
  const res = await t.http().put(`/v1/me/consents/${purpose}`).set(bearer(subject.token)).send({ policyVersion: t.config.policyVersion });
  if (res.status !== 200) throw new Error(`consent failed: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function upload(t: TestApp, subject: Subject, image: FixtureImage, purpose: string, faces: readonly object[] = [FACE]): Promise<string> {
  const res = await t.http().post('/v1/images').set(bearer(subject.token)).send({ imageBase64: base64Of(image), contentType: image.contentType, purpose, faces });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.imageId as string;
}

export async function queueJob(t: TestApp, subject: Subject, imageId: string, purpose: string, options?: object): Promise<string> {
  const res = await t.http().post(`/v1/images/${imageId}/jobs`).set(bearer(subject.token)).send(options ? { purpose, options } : { purpose });
  if (res.status !== 202) throw new Error(`queue failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.jobId as string;
}

/** Runs every runnable job, then lets the projections and the sagas finish what the jobs triggered. */
export async function runWorker(t: TestApp): Promise<void> {
  await t.app.get(ProcessingWorker).drain();
  await settleAll(t);
}

export async function settleAll(t: TestApp): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await t.settle();
    await t.app.get(TempFilesSaga).whenIdle();
    await t.app.get(CorrectionSaga).whenIdle();
  }
}

export async function job(t: TestApp, subject: Subject, jobId: string): Promise<{ status: string; artworkId?: string }> {
  const res = await t.http().get(`/v1/jobs/${jobId}`).set(bearer(subject.token));
  if (res.status !== 200) throw new Error(`job read failed: ${res.status}`);
  return res.body as { status: string; artworkId?: string };
}

export const dpo = () => bearer(STAFF.dpo);
export const auditor = () => bearer(STAFF.auditor);

export const withoutOplog = (events: readonly StoredEvent[]) => events.filter((e) => !e.stream.startsWith('oplog-'));
export const typesOf = (events: readonly StoredEvent[]) => events.map((e) => e.type);

