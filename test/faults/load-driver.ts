/**
 * A load driver for the fault-injection suites: concurrent registrations, consents, uploads, job
 * requests and content reads against a running service, every answer recorded (or the transport
 * error when the service died under it). And the check the suites run afterwards: every request
 * answered 2xx left its events and objects, and no object lives without its event (nor an event
 * without its object).
 */
import { createHash, randomBytes } from 'node:crypto';
import type request from 'supertest';
import { PURPOSES } from '../../src/events/purposes';
import { uploadBody, type UploadBody } from './fault-helpers';

export type Http = () => ReturnType<typeof request>;
export type Operation = 'register' | 'consent' | 'upload' | 'job' | 'read';

export interface LoadSubject {
  readonly subjectId: string;
  readonly token: string;
  /** Images this subject uploaded with a 201: reads and jobs target them. */
  readonly images: string[];
}

export interface Outcome {
  readonly op: Operation;
  /** 0 when no HTTP answer came (connection refused or reset: the service died). */
  readonly status: number;
  readonly code?: string;
  readonly retryAfter?: string;
  readonly subjectId?: string;
  readonly imageId?: string;
  readonly jobId?: string;
  readonly purpose?: string;
  readonly idempotencyKey?: string;
  /** Uploads: the body sent (to retry it) and the SHA-256 of its bytes (to check what is stored). */
  readonly body?: UploadBody;
  readonly sha256?: string;
  readonly transportError?: string;
  readonly ms: number;
}

/** Answers slower than this count as a hang (the request fails with a timeout error). */
export const HANG_GUARD_MS = 20_000;
const POLICY_VERSION = '2025-06-24';
/** Consents the driver grants again and again (the upload purpose stays granted). */
const CONSENT_PURPOSES = PURPOSES.filter((p) => p !== 'photo-enlarge');

export async function registerWithConsent(http: Http): Promise<LoadSubject> {
  const registered = await http()
    .post('/v1/devices')
    .send({ deviceId: `device-${randomBytes(8).toString('hex')}`, deviceSecret: `secret-${randomBytes(24).toString('hex')}`, isAdult: true });
  if (registered.status !== 201) throw new Error(`registration failed: ${registered.status} ${JSON.stringify(registered.body)}`);
  const subject: LoadSubject = { subjectId: registered.body.subjectId, token: registered.body.accessToken, images: [] };
  const consent = await http().put('/v1/me/consents/photo-enlarge').set(auth(subject)).send({ policyVersion: POLICY_VERSION });
  if (consent.status !== 200) throw new Error(`consent failed: ${consent.status}`);
  return subject;
}

const auth = (subject: LoadSubject) => ({ Authorization: `Bearer ${subject.token}` });

export interface LoadOptions {
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Uploads carry an Idempotency-Key (so a failed one can be retried safely). */
  readonly idempotentUploads?: boolean;
  /** Bodies to upload, cycled (pre-encoded so the driver spends no time on images). */
  readonly bodies: readonly UploadBody[];
}

export async function uploadBodies(count: number): Promise<UploadBody[]> {
  const out: UploadBody[] = [];
  for (let i = 0; i < count; i++) out.push(await uploadBody('photo-enlarge', i));
  return out;
}

export function sha256Of(body: UploadBody): string {
  return createHash('sha256').update(Buffer.from(body.imageBase64, 'base64')).digest('hex');
}

/** Runs a mix of requests from `subjects` until `stop()`. */
export class LoadDriver {
  readonly outcomes: Outcome[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private turn = 0;

  constructor(
    private readonly http: Http,
    private readonly subjects: LoadSubject[],
    private readonly options: LoadOptions,
  ) {}

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.options.concurrency }, (_, i) => this.work(i));
  }

  /** Stops issuing requests and waits for those in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** Resolves once `count` answers matching `filter` were recorded. */
  async until(filter: (o: Outcome) => boolean, count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.outcomes.filter(filter).length < count) {
      if (Date.now() > deadline) throw new Error(`load: fewer than ${count} matching answers within ${timeoutMs} ms (${this.summary()})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  summary(): string {
    const counts = new Map<string, number>();
    for (const o of this.outcomes) counts.set(`${o.op} ${o.status}`, (counts.get(`${o.op} ${o.status}`) ?? 0) + 1);
    return [...counts].sort().map(([k, v]) => `${k}: ${v}`).join(', ');
  }

  private async work(worker: number): Promise<void> {
    while (this.running) {
      const turn = this.turn++;
      const subject = this.subjects[(turn + worker) % this.subjects.length];
      const roll = turn % 20;
      const op: Operation = roll < 7 ? 'upload' : roll < 12 ? 'read' : roll < 15 ? 'job' : roll < 18 ? 'consent' : 'register';
      const outcome = await this.issue(op, subject, turn);
      this.outcomes.push(outcome);
      // A service that is down answers at once: do not spin.
      if (outcome.status === 0 || outcome.status >= 500) await new Promise((r) => setTimeout(r, 25));
    }
  }

  private async issue(op: Operation, subject: LoadSubject, turn: number): Promise<Outcome> {
    const started = Date.now();
    const image = subject.images.length > 0 ? subject.images[turn % subject.images.length] : undefined;
    const base: { -readonly [K in keyof Outcome]?: Outcome[K] } = { op, subjectId: subject.subjectId };
    let req: ReturnType<ReturnType<Http>['get']>;
    switch (op === 'read' || op === 'job' ? (image ? op : 'upload') : op) {
      case 'register': {
        req = this.http()
          .post('/v1/devices')
          .send({ deviceId: `device-${randomBytes(8).toString('hex')}`, deviceSecret: `secret-${randomBytes(24).toString('hex')}`, isAdult: true });
        delete base.subjectId;
        break;
      }
      case 'consent': {
        const purpose = CONSENT_PURPOSES[turn % CONSENT_PURPOSES.length];
        Object.assign(base, { purpose });
        req = this.http().put(`/v1/me/consents/${purpose}`).set(auth(subject)).send({ policyVersion: POLICY_VERSION });
        break;
      }
      case 'read':
        Object.assign(base, { imageId: image });
        req = this.http().get(`/v1/images/${image}/content`).set(auth(subject));
        break;
      case 'job':
        Object.assign(base, { imageId: image });
        req = this.http().post(`/v1/images/${image}/jobs`).set(auth(subject)).send({ purpose: 'photo-enlarge' });
        break;
      default: {
        const body = this.options.bodies[turn % this.options.bodies.length];
        const idempotencyKey = this.options.idempotentUploads ? `load-${turn}-${randomBytes(4).toString('hex')}` : undefined;
        Object.assign(base, { op: 'upload', body, sha256: sha256Of(body), idempotencyKey });
        req = this.http().post('/v1/images').set(auth(subject));
        if (idempotencyKey) req = req.set('Idempotency-Key', idempotencyKey);
        req = req.send(body);
      }
    }
    try {
      const res = await req.timeout({ response: HANG_GUARD_MS, deadline: HANG_GUARD_MS + 5_000 });
      const body = (res.body ?? {}) as Record<string, unknown>;
      const outcome: Outcome = {
        ...(base as Outcome),
        status: res.status,
        code: typeof body.code === 'string' ? body.code : undefined,
        retryAfter: res.headers['retry-after'],
        ...(base.op === 'upload' && res.status === 201 ? { imageId: body.imageId as string } : {}),
        ...(base.op === 'job' && res.status === 202 ? { jobId: body.jobId as string } : {}),
        ...(base.op === 'register' && res.status === 201 ? { subjectId: body.subjectId as string } : {}),
        ms: Date.now() - started,
      };
      if (outcome.op === 'upload' && res.status === 201) subject.images.push(outcome.imageId as string);
      return outcome;
    } catch (error) {
      const e = error as { code?: string; timeout?: number; message?: string };
      return { ...(base as Outcome), status: 0, transportError: e.timeout ? 'TIMEOUT' : (e.code ?? e.message ?? 'error'), ms: Date.now() - started };
    }
  }
}

/** An event as the checks need it: from the store in-process, or from the audit API. */
export interface LoggedEvent {
  readonly type: string;
  readonly stream: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface ConsistencyInput {
  readonly outcomes: readonly Outcome[];
  readonly events: readonly LoggedEvent[];
  /** Every object key under originals/ and artworks/ (and tmp/, ignored here). */
  readonly objectKeys: readonly string[];
}

/**
 * Every 2xx answer has its events and objects; every original and artwork object has its event
 * (none unreferenced); every original or artwork recorded and not deleted has its object. Returns
 * the problems found (empty when consistent).
 */
export function consistencyProblems({ outcomes, events, objectKeys }: ConsistencyInput): string[] {
  const problems: string[] = [];
  const keys = new Set(objectKeys);
  const byType = (type: string) => events.filter((e) => e.type === type);
  const uploaded = new Map(byType('ImageUploaded').map((e) => [e.data.imageId as string, e]));
  const deletedImages = new Set(byType('ImageDeleted').map((e) => e.data.imageId as string));
  const artworks = new Map(byType('ArtworkGenerated').map((e) => [e.data.artworkId as string, e]));
  const deletedArtworks = new Set(byType('ArtworkDeleted').map((e) => e.data.artworkId as string));
  const queued = new Set(byType('JobQueued').map((e) => e.data.jobId as string));
  const registered = new Set(byType('SubjectRegistered').map((e) => e.data.subjectId as string));
  const granted = new Set(byType('ConsentGranted').map((e) => `${e.data.subjectId as string}/${e.data.purpose as string}`));
  const views = new Map<string, number>();
  for (const e of byType('ImageViewed')) views.set(e.data.imageId as string, (views.get(e.data.imageId as string) ?? 0) + 1);
  const readsAnswered = new Map<string, number>();

  for (const o of outcomes) {
    if (o.status < 200 || o.status >= 300) continue;
    switch (o.op) {
      case 'register':
        if (!registered.has(o.subjectId as string)) problems.push(`register 201 ${o.subjectId}: no SubjectRegistered`);
        break;
      case 'consent':
        if (!granted.has(`${o.subjectId}/${o.purpose}`)) problems.push(`consent 200 ${o.subjectId}/${o.purpose}: no ConsentGranted`);
        break;
      case 'upload': {
        const event = uploaded.get(o.imageId as string);
        if (!event) problems.push(`upload 201 ${o.imageId}: no ImageUploaded`);
        else if (event.data.sha256 !== o.sha256) problems.push(`upload 201 ${o.imageId}: ImageUploaded holds another image`);
        else if (!deletedImages.has(o.imageId as string) && !keys.has(event.data.objectKey as string)) problems.push(`upload 201 ${o.imageId}: its original object is missing`);
        break;
      }
      case 'job':
        if (!queued.has(o.jobId as string)) problems.push(`job 202 ${o.jobId}: no JobQueued`);
        break;
      case 'read':
        readsAnswered.set(o.imageId as string, (readsAnswered.get(o.imageId as string) ?? 0) + 1);
        break;
    }
  }
  for (const [imageId, answered] of readsAnswered) {
    // A read that answered 503 may have recorded its view before the answer was lost: at least as many.
    if ((views.get(imageId) ?? 0) < answered) problems.push(`read 200 ×${answered} of ${imageId}: only ${views.get(imageId) ?? 0} ImageViewed`);
  }
  const referenced = new Set([...[...uploaded.values()].map((e) => e.data.objectKey as string), ...[...artworks.values()].map((e) => e.data.objectKey as string)]);
  for (const key of objectKeys) {
    if ((key.startsWith('originals/') || key.startsWith('artworks/')) && !referenced.has(key)) problems.push(`object ${key}: no event references it`);
  }
  for (const [imageId, event] of uploaded) {
    if (!deletedImages.has(imageId) && !keys.has(event.data.objectKey as string)) problems.push(`ImageUploaded ${imageId}: not deleted, but its object is missing`);
  }
  for (const [artworkId, event] of artworks) {
    if (!deletedArtworks.has(artworkId) && !keys.has(event.data.objectKey as string)) problems.push(`ArtworkGenerated ${artworkId}: not deleted, but its object is missing`);
  }
  return problems;
}
