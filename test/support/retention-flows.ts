/**
 * Steps the retention tests share: a subject with consent, an upload, a job run to completion,
 * one sweep, and reads of the log.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { ProcessingWorker } from '../../src/modules/facial-data/processing-worker/processing-worker';
import { TempFilesSaga } from '../../src/modules/facial-data/temp-files/temp-files.saga';
import { RetentionSaga } from '../../src/modules/retention/sweep/retention.saga';
import { RetentionSweeper, type RetentionSweepReport } from '../../src/modules/retention/sweep/retention-sweeper';
import { base64Of, pngImage } from '../fixtures/images';
import { bearer, filesUnder, registerSubject, type TestApp } from './test-app';

export type Subject = Awaited<ReturnType<typeof registerSubject>>;

export async function subjectWithConsent(t: TestApp, ...purposes: string[]): Promise<Subject> {
  const subject = await registerSubject(t);
  for (const purpose of purposes) {
    const res = await t.http().put(`/v1/me/consents/${purpose}`).set(bearer(subject.token)).send({ policyVersion: t.config.policyVersion });
    if (res.status !== 200) throw new Error(`consent failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return subject;
}

/** A new access token for the subject (tokens expire while the injected clock jumps ahead). */
export async function refreshToken(t: TestApp, subject: Subject): Promise<Subject> {
  const res = await t.http().post('/v1/devices/token').send({ deviceId: subject.deviceId, deviceSecret: subject.deviceSecret });
  if (res.status !== 200) throw new Error(`token refresh failed: ${res.status} ${JSON.stringify(res.body)}`);
  subject.token = res.body.accessToken as string;
  return subject;
}

/** Sends a subject request, with a fresh token if the current one expired. */
export async function asSubject(t: TestApp, subject: Subject, send: (token: string) => Promise<Response>): Promise<Response> {
  const first = await send(subject.token);
  if (first.status !== 401) return first;
  await refreshToken(t, subject);
  return send(subject.token);
}

type Response = Awaited<ReturnType<ReturnType<TestApp['http']>['get']>>;

export async function uploadImage(t: TestApp, subject: Subject, purpose = 'photo-enlarge'): Promise<string> {
  const image = await pngImage(24, 24);
  const res = await asSubject(t, subject, (token) =>
    t
      .http()
      .post('/v1/images')
      .set(bearer(token))
      .send({ imageBase64: base64Of(image), contentType: image.contentType, purpose, faces: [{ x: 2, y: 2, width: 8, height: 8 }] }),
  );
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.imageId as string;
}

export async function queueJob(t: TestApp, subject: Subject, imageId: string, purpose = 'photo-enlarge'): Promise<Response> {
  return asSubject(t, subject, (token) => t.http().post(`/v1/images/${imageId}/jobs`).set(bearer(token)).send({ purpose }));
}

/** Projections, the temp-file saga and the retention saga all idle. */
export async function settleAll(t: TestApp): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await t.settle();
    await t.app.get(TempFilesSaga).whenIdle();
    await t.app.get(RetentionSaga).whenIdle();
  }
}

/** Runs every runnable job to its end. */
export async function runJobs(t: TestApp): Promise<void> {
  await t.app.get(ProcessingWorker).drain();
  await settleAll(t);
}

export async function sweep(t: TestApp): Promise<RetentionSweepReport> {
  const report = await t.app.get(RetentionSweeper).sweepOnce();
  await settleAll(t);
  return report;
}

export async function streamEvents(t: TestApp, stream: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  try {
    for await (const event of t.store.readStream(stream)) out.push(event);
  } catch (error) {
    if ((error as Error).name !== 'StreamNotFoundError') throw error;
  }
  return out;
}

export async function allEvents(t: TestApp, type?: string): Promise<StoredEvent[]> {
  const events = await t.eventsSince('start');
  return type ? events.filter((e) => e.type === type) : events;
}

export function objectFile(t: TestApp, key: string): string {
  return join(t.dataDir, 'objects', ...key.split('/'));
}

export function objectFiles(t: TestApp, prefix: string): string[] {
  const dir = join(t.dataDir, 'objects', prefix);
  return existsSync(dir) ? filesUnder(dir) : [];
}
