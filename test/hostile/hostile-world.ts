/**
 * The world the hostile catalogue and the authorization matrix run against: the whole service on
 * a temporary DATA_DIR, listening on a free loopback port (raw-socket cases need one), with
 *  - subject A: consent to photo-enlarge and ai-edit, ai-edit restricted, one uploaded image
 *    (Idempotency-Key), a completed photo-enlarge job (Idempotency-Key) and its artwork, a rights
 *    request waiting for the DPO (Idempotency-Key);
 *  - subject B: registered with an Idempotency-Key, nothing else;
 *  - an erased subject whose token, device id and secret are kept;
 *  - the staff tokens of test-app (auditor, dpo).
 * Everything is built through the HTTP API and the real processing worker.
 */
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DerivedKeys } from '../../src/modules/crypto/derived-keys';
import { ProcessingWorker } from '../../src/modules/facial-data/processing-worker/processing-worker';
import { TempFilesSaga } from '../../src/modules/facial-data/temp-files/temp-files.saga';
import { createRootLogger, PinoAppLogger } from '../../src/modules/logging/logger';
import { base64Of, jpegImage } from '../fixtures/images';
import { bearer, filesUnder, registerSubject, STAFF, startTestApp, type TestApp, type TestAppOptions } from '../support/test-app';

export interface Subject {
  readonly subjectId: string;
  readonly token: string;
  readonly deviceId: string;
  readonly deviceSecret: string;
}

export interface SubjectA extends Subject {
  readonly imageId: string;
  readonly jobId: string;
  readonly artworkId: string;
  readonly requestId: string;
}

/** The first request made with each Idempotency-Key (a replay with another body must be refused). */
export interface KeyedRequests {
  readonly image: { readonly key: string; readonly body: UploadBody };
  readonly job: { readonly key: string; readonly body: { purpose: string } };
  readonly request: { readonly key: string; readonly body: { type: string; details: string } };
  readonly device: { readonly key: string; readonly body: { deviceId: string; deviceSecret: string; isAdult: boolean } };
}

export interface UploadBody {
  readonly imageBase64: string;
  readonly contentType: string;
  readonly purpose: string;
  readonly faces: ReadonlyArray<{ x: number; y: number; width: number; height: number }>;
}

export interface World {
  readonly t: TestApp;
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  readonly port: number;
  /** The key the service signs access tokens with (derived from the master key). */
  readonly signingKey: Buffer;
  readonly a: SubjectA;
  readonly b: Subject;
  readonly erased: Subject;
  readonly keyed: KeyedRequests;
  /** A valid upload body of A (a fresh JPEG, photo-enlarge, one face box), to vary per case. */
  readonly upload: UploadBody;
  /** Strings no answer may ever contain: tokens, device ids and secrets, staff secrets. */
  secrets(): string[];
  /** Every file under DATA_DIR/objects (in-flight temp files included), sorted. */
  objectFiles(): string[];
  /** Every log line the service wrote so far (level trace: everything). */
  logLines(): readonly string[];
  close(): Promise<void>;
}

async function ok<T extends { status: number; body: unknown }>(what: string, expected: number, res: T | Promise<T>): Promise<T> {
  const answer = await res;
  if (answer.status !== expected) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer;
}

export async function buildWorld(options: TestAppOptions = {}): Promise<World> {
  // Every log line is kept, at the most verbose level, so the runner can search them for secrets.
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = new PinoAppLogger(createRootLogger('trace', sink));
  const t = await startTestApp({ ...options, overrides: { logger, ...options.overrides } });
  try {
    await t.app.listen(0, '127.0.0.1');
    const port = (t.app.getHttpServer().address() as AddressInfo).port;
    const signingKey = t.app.get(DerivedKeys).tokenSigningKey;

    const a0 = await registerSubject(t, `device-a-${Math.random().toString(36).slice(2)}`);
    const deviceB = { deviceId: `device-b-${Math.random().toString(36).slice(2)}`, deviceSecret: `secret-b-${'y'.repeat(40)}-${Math.random().toString(36).slice(2)}`, isAdult: true };
    const registeredB = await ok('register B', 201, t.http().post('/v1/devices').set('Idempotency-Key', 'idem-device-b').send(deviceB));
    const b: Subject = { subjectId: registeredB.body.subjectId, token: registeredB.body.accessToken, deviceId: deviceB.deviceId, deviceSecret: deviceB.deviceSecret };
    const erased0 = await registerSubject(t, `device-e-${Math.random().toString(36).slice(2)}`);

    for (const purpose of ['photo-enlarge', 'ai-edit']) {
      await ok(`consent ${purpose}`, 200, t.http().put(`/v1/me/consents/${purpose}`).set(bearer(a0.token)).send({ policyVersion: t.config.policyVersion }));
    }
    await ok('restrict ai-edit', 200, t.http().put('/v1/me/restrictions/ai-edit').set(bearer(a0.token)));

    const image = await jpegImage(64, 48);
    const imageBody: UploadBody = { imageBase64: base64Of(image), contentType: image.contentType, purpose: 'photo-enlarge', faces: [{ x: 4, y: 4, width: 20, height: 20 }] };
    const uploaded = await ok('upload', 201, t.http().post('/v1/images').set(bearer(a0.token)).set('Idempotency-Key', 'idem-image-1').send(imageBody));
    const imageId: string = uploaded.body.imageId;
    const jobBody = { purpose: 'photo-enlarge' };
    const queued = await ok('queue job', 202, t.http().post(`/v1/images/${imageId}/jobs`).set(bearer(a0.token)).set('Idempotency-Key', 'idem-job-1').send(jobBody));
    const jobId: string = queued.body.jobId;
    await t.app.get(ProcessingWorker).drain();
    await t.settle();
    await t.app.get(TempFilesSaga).whenIdle();
    await t.settle();
    const job = await ok('get job', 200, t.http().get(`/v1/jobs/${jobId}`).set(bearer(a0.token)));
    if (job.body.status !== 'completed' || typeof job.body.artworkId !== 'string') throw new Error(`job did not complete: ${JSON.stringify(job.body)}`);

    const requestBody = { type: 'access', details: 'Please list everything you hold about me' };
    const submitted = await ok('rights request', 201, t.http().post('/v1/me/requests').set(bearer(a0.token)).set('Idempotency-Key', 'idem-request-1').send(requestBody));

    await ok('erase', 200, t.http().delete('/v1/me').set(bearer(erased0.token)));
    await t.settle();

    const fresh = await jpegImage(32, 32);
    const a: SubjectA = { ...a0, imageId, jobId, artworkId: job.body.artworkId, requestId: submitted.body.requestId };
    const erased: Subject = erased0;
    const objectsDir = join(t.dataDir, 'objects');
    return {
      t,
      baseUrl: `http://127.0.0.1:${port}`,
      port,
      signingKey,
      a,
      b,
      erased,
      keyed: {
        image: { key: 'idem-image-1', body: imageBody },
        job: { key: 'idem-job-1', body: jobBody },
        request: { key: 'idem-request-1', body: requestBody },
        device: { key: 'idem-device-b', body: deviceB },
      },
      upload: { imageBase64: base64Of(fresh), contentType: fresh.contentType, purpose: 'photo-enlarge', faces: [{ x: 0, y: 0, width: 32, height: 32 }] },
      secrets: () => [a, b, erased].flatMap((s) => [s.token, s.deviceId, s.deviceSecret]).concat([STAFF.auditor, STAFF.dpo]),
      objectFiles: () => (existsSync(objectsDir) ? filesUnder(objectsDir).sort() : []),
      logLines: () => lines,
      close: () => t.close(),
    };
  } catch (error) {
    await t.close();
    throw error;
  }
}
