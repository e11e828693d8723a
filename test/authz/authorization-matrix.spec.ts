/**
 * The authorization matrix: every route of the OpenAPI document × {no token, subject A, subject B,
 * auditor, dpo}, with the expected status of each cell, run against the real service.
 *  - public routes answer everyone alike;
 *  - subject routes: no token 401 UNAUTHORIZED, staff 403 FORBIDDEN, A on its own resources 2xx,
 *    B on A's resources 404 (never 403: another subject's resource does not exist for B), B on
 *    its own `/v1/me…` 2xx;
 *  - auditor routes: 401 without a token, 403 for subjects and the dpo, 2xx for the auditor;
 *  - dpo routes: 401 without a token, 403 for subjects and the auditor, 2xx for the dpo.
 * The rows are checked against /docs-json: a new endpoint without a row fails the last test.
 * Within a row the cells run in the order none, B, auditor, dpo, A, so a refused cell never finds
 * a resource an earlier cell of the row changed; rows that change or erase something use
 * resources of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessingWorker } from '../../src/modules/facial-data/processing-worker/processing-worker';
import { TempFilesSaga } from '../../src/modules/facial-data/temp-files/temp-files.saga';
import { base64Of, jpegImage } from '../fixtures/images';
import { buildWorld, type Subject, type World } from '../hostile/hostile-world';
import { bearer, registerSubject, STAFF } from '../support/test-app';

const CALLERS = ['none', 'subjectA', 'subjectB', 'auditor', 'dpo'] as const;
type Caller = (typeof CALLERS)[number];
/** The order cells run in (A last: its success may change the resource). */
const RUN_ORDER: readonly Caller[] = ['none', 'subjectB', 'auditor', 'dpo', 'subjectA'];

interface Extras {
  /** A second image of A, for DELETE. */
  readonly spareImageId: string;
  /** A second artwork of A, for DELETE. */
  readonly spareArtworkId: string;
  /** Subjects the DELETE /v1/me row erases (in A's and B's cells). */
  readonly doomedA: Subject;
  readonly doomedB: Subject;
  /** A valid upload (B consented to its purpose too). */
  readonly uploadBody: object;
}

interface Ctx {
  readonly w: World;
  readonly x: Extras;
}

interface CellRequest {
  readonly path: string;
  readonly json?: object;
  /** Replaces the caller's token (rows acting on throw-away subjects). */
  readonly token?: string;
}

interface Row {
  readonly route: string;
  readonly request: (ctx: Ctx, caller: Caller) => CellRequest;
  readonly expected: Readonly<Record<Caller, number>>;
}

/** Expected cells of the three kinds of routes. */
const publicRoute = (ok: number) => ({ none: ok, subjectA: ok, subjectB: ok, auditor: ok, dpo: ok });
/** A route on the caller's own data (/v1/me…, lists): both subjects succeed on their own. */
const ownRoute = (ok: number) => ({ none: 401, subjectA: ok, subjectB: ok, auditor: 403, dpo: 403 });
/** A route on one of A's resources: B gets 404. */
const aResource = (ok: number) => ({ none: 401, subjectA: ok, subjectB: 404, auditor: 403, dpo: 403 });
const auditorRoute = (ok: number) => ({ none: 401, subjectA: 403, subjectB: 403, auditor: ok, dpo: 403 });
const dpoRoute = (ok: number) => ({ none: 401, subjectA: 403, subjectB: 403, auditor: 403, dpo: ok });

const path = (p: (ctx: Ctx) => string) => (ctx: Ctx): CellRequest => ({ path: p(ctx) });
const freshDevice = () => ({ deviceId: `matrix-device-${Math.random().toString(36).slice(2)}`, deviceSecret: `matrix-secret-${'m'.repeat(32)}`, isAdult: true });

const ROWS: readonly Row[] = [
  { route: 'POST /v1/devices', request: () => ({ path: '/v1/devices', json: freshDevice() }), expected: publicRoute(201) },
  { route: 'POST /v1/devices/token', request: ({ w }) => ({ path: '/v1/devices/token', json: { deviceId: w.b.deviceId, deviceSecret: w.b.deviceSecret } }), expected: publicRoute(200) },
  { route: 'GET /health', request: path(() => '/health'), expected: publicRoute(200) },
  { route: 'GET /health/ready', request: path(() => '/health/ready'), expected: publicRoute(200) },

  { route: 'GET /v1/me/consents', request: path(() => '/v1/me/consents'), expected: ownRoute(200) },
  { route: 'PUT /v1/me/consents/{purpose}', request: ({ w }) => ({ path: '/v1/me/consents/erase-pen', json: { policyVersion: w.t.config.policyVersion } }), expected: ownRoute(200) },
  { route: 'DELETE /v1/me/consents/{purpose}', request: path(() => '/v1/me/consents/time-painting'), expected: ownRoute(200) },
  { route: 'PUT /v1/me/restrictions/{purpose}', request: path(() => '/v1/me/restrictions/photo-restore'), expected: ownRoute(200) },
  { route: 'DELETE /v1/me/restrictions/{purpose}', request: path(() => '/v1/me/restrictions/photo-restore'), expected: ownRoute(200) },
  { route: 'GET /v1/me/history', request: path(() => '/v1/me/history'), expected: ownRoute(200) },
  { route: 'GET /v1/me/access-log', request: path(() => '/v1/me/access-log'), expected: ownRoute(200) },
  { route: 'GET /v1/me/export', request: path(() => '/v1/me/export'), expected: ownRoute(200) },
  { route: 'POST /v1/me/requests', request: () => ({ path: '/v1/me/requests', json: { type: 'access' } }), expected: ownRoute(201) },
  { route: 'GET /v1/me/requests', request: path(() => '/v1/me/requests'), expected: ownRoute(200) },
  { route: 'GET /v1/me/requests/{requestId}', request: path(({ w }) => `/v1/me/requests/${w.a.requestId}`), expected: aResource(200) },
  {
    route: 'DELETE /v1/me',
    request: ({ x }, caller) => ({ path: '/v1/me', ...(caller === 'subjectA' ? { token: x.doomedA.token } : caller === 'subjectB' ? { token: x.doomedB.token } : {}) }),
    expected: ownRoute(200),
  },

  { route: 'POST /v1/images', request: ({ x }) => ({ path: '/v1/images', json: x.uploadBody }), expected: ownRoute(201) },
  { route: 'GET /v1/images', request: path(() => '/v1/images'), expected: ownRoute(200) },
  { route: 'GET /v1/images/{imageId}', request: path(({ w }) => `/v1/images/${w.a.imageId}`), expected: aResource(200) },
  { route: 'GET /v1/images/{imageId}/content', request: path(({ w }) => `/v1/images/${w.a.imageId}/content`), expected: aResource(200) },
  { route: 'DELETE /v1/images/{imageId}', request: path(({ x }) => `/v1/images/${x.spareImageId}`), expected: aResource(204) },
  { route: 'POST /v1/images/{imageId}/jobs', request: ({ w }) => ({ path: `/v1/images/${w.a.imageId}/jobs`, json: { purpose: 'photo-enlarge' } }), expected: aResource(202) },
  { route: 'GET /v1/jobs/{jobId}', request: path(({ w }) => `/v1/jobs/${w.a.jobId}`), expected: aResource(200) },
  { route: 'GET /v1/artworks', request: path(() => '/v1/artworks'), expected: ownRoute(200) },
  { route: 'GET /v1/artworks/{artworkId}', request: path(({ w }) => `/v1/artworks/${w.a.artworkId}`), expected: aResource(200) },
  { route: 'GET /v1/artworks/{artworkId}/content', request: path(({ w }) => `/v1/artworks/${w.a.artworkId}/content`), expected: aResource(200) },
  { route: 'DELETE /v1/artworks/{artworkId}', request: path(({ x }) => `/v1/artworks/${x.spareArtworkId}`), expected: aResource(204) },

  { route: 'GET /v1/audit/events', request: path(() => '/v1/audit/events?limit=5'), expected: auditorRoute(200) },
  { route: 'GET /v1/audit/subjects/{subjectId}/history', request: path(({ w }) => `/v1/audit/subjects/${w.a.subjectId}/history`), expected: auditorRoute(200) },
  { route: 'GET /v1/audit/access-log', request: path(() => '/v1/audit/access-log'), expected: auditorRoute(200) },
  { route: 'GET /v1/audit/retention', request: path(() => '/v1/audit/retention'), expected: auditorRoute(200) },
  { route: 'GET /v1/audit/requests', request: path(() => '/v1/audit/requests'), expected: auditorRoute(200) },
  { route: 'POST /v1/audit/verifications', request: path(() => '/v1/audit/verifications'), expected: auditorRoute(201) },

  { route: 'GET /v1/dpo/requests', request: path(() => '/v1/dpo/requests'), expected: dpoRoute(200) },
  { route: 'POST /v1/dpo/requests/{requestId}/decisions', request: ({ w }) => ({ path: `/v1/dpo/requests/${w.a.requestId}/decisions`, json: { outcome: 'fulfilled', reason: 'Sent by post' } }), expected: dpoRoute(200) },
];

function tokenOf(ctx: Ctx, caller: Caller): string | undefined {
  switch (caller) {
    case 'none':
      return undefined;
    case 'subjectA':
      return ctx.w.a.token;
    case 'subjectB':
      return ctx.w.b.token;
    case 'auditor':
      return STAFF.auditor;
    case 'dpo':
      return STAFF.dpo;
  }
}

async function send(ctx: Ctx, method: string, cell: CellRequest, token: string | undefined) {
  const agent = ctx.w.t.http();
  let req = method === 'GET' ? agent.get(cell.path) : method === 'POST' ? agent.post(cell.path) : method === 'PUT' ? agent.put(cell.path) : agent.delete(cell.path);
  if (token) req = req.set(bearer(token));
  if (cell.json !== undefined) req = req.send(cell.json);
  return req.buffer(true);
}

describe('authorization matrix: every route × {no token, subject A, subject B, auditor, dpo}', () => {
  let ctx: Ctx;
  const outcome = new Map<string, number>();

  beforeAll(async () => {
    const w = await buildWorld();
    const { t, a } = w;
    const spare = await jpegImage(32, 32);
    const spareUpload = await t.http().post('/v1/images').set(bearer(a.token)).send({ imageBase64: base64Of(spare), contentType: spare.contentType, purpose: 'photo-enlarge', faces: [{ x: 0, y: 0, width: 16, height: 16 }] });
    const secondUpload = await t.http().post('/v1/images').set(bearer(a.token)).send({ imageBase64: base64Of(await jpegImage(40, 40)), contentType: 'image/jpeg', purpose: 'photo-enlarge', faces: [{ x: 0, y: 0, width: 16, height: 16 }] });
    const job = await t.http().post(`/v1/images/${secondUpload.body.imageId}/jobs`).set(bearer(a.token)).send({ purpose: 'photo-enlarge' });
    await t.app.get(ProcessingWorker).drain();
    await t.settle();
    await t.app.get(TempFilesSaga).whenIdle();
    await t.settle();
    const done = await t.http().get(`/v1/jobs/${job.body.jobId}`).set(bearer(a.token));
    if (spareUpload.status !== 201 || done.body.status !== 'completed') throw new Error(`matrix setup failed: ${JSON.stringify([spareUpload.body, done.body])}`);
    const consentB = await t.http().put('/v1/me/consents/photo-enlarge').set(bearer(w.b.token)).send({ policyVersion: t.config.policyVersion });
    if (consentB.status !== 200) throw new Error(`consent of B failed: ${consentB.status}`);
    const upload = await jpegImage(24, 24);
    const uploadBody = { imageBase64: base64Of(upload), contentType: upload.contentType, purpose: 'photo-enlarge', faces: [{ x: 0, y: 0, width: 8, height: 8 }] };
    ctx = { w, x: { spareImageId: spareUpload.body.imageId, spareArtworkId: done.body.artworkId, doomedA: await registerSubject(t), doomedB: await registerSubject(t), uploadBody } };
  }, 180_000);

  afterAll(async () => {
    // The table, as the service answered it (for the report and for reading a failure).
    if (outcome.size > 0) {
      const lines = ROWS.map((row) => `| ${row.route} | ${CALLERS.map((c) => outcome.get(`${row.route}|${c}`) ?? '—').join(' | ')} |`);
      console.log(['| route | none | subject A | subject B | auditor | dpo |', '|---|---|---|---|---|---|', ...lines].join('\n'));
    }
    await ctx?.w.close();
  });

  for (const row of ROWS) {
    const [method] = row.route.split(' ');
    for (const caller of RUN_ORDER) {
      const expected = row.expected[caller];
      it(`${row.route} as ${caller} → ${expected}`, async () => {
        const cell = row.request(ctx, caller);
        const token = cell.token ?? tokenOf(ctx, caller);
        await ctx.w.t.settle();
        const head = await ctx.w.t.store.headPosition();
        const res = await send(ctx, method, cell, caller === 'none' ? undefined : token);
        outcome.set(`${row.route}|${caller}`, res.status);
        const context = `${row.route} as ${caller}: ${res.status} ${String(res.text ?? '').slice(0, 300)}`;
        expect(res.status, context).toBe(expected);
        if (expected >= 400) {
          expect(String(res.headers['content-type']), context).toMatch(/^application\/problem\+json/);
          const code = expected === 401 ? 'UNAUTHORIZED' : expected === 403 ? 'FORBIDDEN' : undefined;
          if (code) expect(res.body.code, context).toBe(code);
          else expect(res.body.code, context).toMatch(/_NOT_FOUND$/);
          // A refused cell records nothing.
          await ctx.w.t.settle();
          expect(await ctx.w.t.store.headPosition(), `${context}: appended events`).toEqual(head);
        }
      });
    }
  }

  it('has exactly one row per route of the OpenAPI document', async () => {
    const doc = await ctx.w.t.http().get('/docs-json');
    const documented = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([p, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${p}`));
    const rows = ROWS.map((r) => r.route);
    expect(documented.filter((route) => !rows.includes(route)), 'routes without a row').toEqual([]);
    expect(rows.filter((route) => !documented.includes(route)), 'rows without a route').toEqual([]);
    expect(rows.filter((route, i) => rows.indexOf(route) !== i), 'duplicate rows').toEqual([]);
  });
});
