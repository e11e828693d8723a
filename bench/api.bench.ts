/**
 * Ingest benchmark (npm run bench:api): the real service, on its embedded defaults (SQLite event
 * store, filesystem objects, SQLite key store), under HTTP load from a second process, beside a
 * bare `node:http` server doing the same work without the framework (the ceiling of this design),
 * measured in the same run with the same load settings.
 *
 * 1. Starts `node dist/src/main.js` with a fresh DATA_DIR, a free port, LOG_LEVEL=warn, and rate
 *    limits raised for a load test: RATE_LIMIT_SUBJECT_PER_MINUTE=10000000 (every connection
 *    sends hundreds of requests a second as one subject, far above the production default of
 *    600/min) and RATE_LIMIT_AUTH_PER_MINUTE=100000 (the setup registers every subject from one
 *    address).
 * 2. Prepares data over HTTP: BENCH_SUBJECTS subjects (default 100, one per connection), each
 *    registered, with consent to photo-restore, and one ~50 KiB JPEG uploaded. The load cycles
 *    over the subjects, so the 100 requests in flight at any moment are ~100 different subjects
 *    reading their own images, as many phones would; a storm on one image is covered by the
 *    tests (test/e2e/content-reads.e2e.spec.ts).
 * 3. (a) GET /v1/images/{id}/content and (b) POST /v1/images with a ~200 KiB photo-like JPEG
 *    (Base64 JSON), each run by autocannon in a child process (bench/api-load-runner.ts):
 *    BENCH_WARMUP seconds of warm-up (default 5), then BENCH_DURATION seconds measured (default
 *    20), at BENCH_CONNECTIONS connections (default 100), keep-alive, no pipelining.
 * 4. Verifies from the event log (the SQLite file, opened read-only) that every 2xx answer of the
 *    measured run left exactly one event with its request id as correlation id (ImageViewed for
 *    (a), ImageUploaded + FaceDetectionLogged and the encrypted object for (b)), and that no
 *    refused request left one. Requests still in flight when autocannon stopped were completed
 *    by the server after the client left; they are counted separately.
 * 5. The ceiling (bench/ceiling-server.ts) is measured the same way: (a) a Map lookup, the
 *    encrypted file read, envelope decryption, an ImageViewed of the same shape appended with the
 *    project's SqliteEventStore (group commit, synchronous=FULL), the bytes answered; (b), the
 *    upload anchor: JSON parse, strict Base64, header inspection, face boxes, SHA-256, encryption,
 *    durable object put (fsync file and directory), ImageUploaded + FaceDetectionLogged appended.
 *
 * `sync` runs before every measured phase so that one phase's disk writeback does not land in the
 * next. With BENCH_CPU_PROF=<folder>, the service runs under the V8 profiler and writes one
 * .cpuprofile per measured phase (see bench/api-profiled-service.ts, bench/cpu-profile-summary.ts).
 *
 * Prints a table, then exactly one JSON line:
 * `{"bench":"api","results":[{"name":…,"value":N,"unit":…,"ceiling":N,"ratio":N}]}`.
 */
import Database from 'better-sqlite3';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LoadConfig, LoadResult, LoadTarget } from './api-load-runner';
import { photoLikeJpeg, type BenchImage } from './api-images';
import type { CeilingConfig } from './ceiling-server';

const DIST = resolve(__dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const SUBJECTS = Number(process.env.BENCH_SUBJECTS ?? 100);
const CPU_PROF = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const KEEP = process.env.BENCH_KEEP === '1';
const READ_IMAGE_BYTES = 50 * 1024;
const UPLOAD_IMAGE_BYTES = 200 * 1024;
const PURPOSE = 'photo-restore';
const POLICY_VERSION = '2025-06-24';
/** The "done when" figures of the issue. */
const TARGET_READS_PER_SECOND = 2000;
const TARGET_READ_P99_MS = 100;
const TARGET_READ_RATIO = 0.5;
const TARGET_UPLOADS_PER_SECOND = 300;

interface Server {
  readonly url: string;
  readonly proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

interface Verification {
  /** 2xx answers whose request left exactly one event of the kind. */
  readonly matched: number;
  readonly okWithoutEvent: number;
  readonly okWithSeveral: number;
  /** Refused (non-2xx) requests that left an event anyway. */
  readonly refusedWithEvent: number;
  /** Events of requests the client gave up on at the end of the run (completed by the server). */
  readonly unanswered: number;
  readonly extra: string[];
}

interface PhaseResult {
  readonly load: LoadResult;
  readonly verification: Verification;
  readonly notes: string[];
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Spawns `node <args>` and resolves once `ready(output)` gives the server's URL. */
function startProcess(args: string[], env: NodeJS.ProcessEnv, ready: (output: string) => Promise<string | null>, timeoutMs = 120_000): Promise<Server> {
  return new Promise((resolveServer, reject) => {
    const proc = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<void>((done) => proc.once('exit', () => done()));
    let settled = false;
    const deadline = Date.now() + timeoutMs;
    void exited.then(() => {
      if (settled) return;
      settled = true;
      reject(new Error(`${args.join(' ')} exited before it was ready:\n${out}`));
    });
    const poll = async () => {
      while (!settled) {
        const url = await ready(out).catch(() => null);
        if (url && !settled) {
          settled = true;
          resolveServer({
            url,
            proc,
            output: () => out,
            stop: async () => {
              if (proc.exitCode === null && proc.signalCode === null) {
                proc.kill('SIGTERM');
                const kill = setTimeout(() => proc.kill('SIGKILL'), 20_000);
                await exited;
                clearTimeout(kill);
              }
            },
          });
          return;
        }
        if (Date.now() > deadline) {
          settled = true;
          proc.kill('SIGKILL');
          reject(new Error(`${args.join(' ')} was not ready in time:\n${out}`));
          return;
        }
        await sleep(100);
      }
    };
    void poll();
  });
}

async function startService(dataDir: string): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    MASTER_KEY: randomBytes(32).toString('base64'),
    TOKEN_TTL: 'PT1H',
    RATE_LIMIT_SUBJECT_PER_MINUTE: '10000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    ...(CPU_PROF ? { BENCH_CPU_PROF: CPU_PROF } : {}),
  };
  const script = CPU_PROF ? join(DIST, 'bench', 'api-profiled-service.js') : join(DIST, 'src', 'main.js');
  return startProcess([script], env, async () => {
    const res = await fetch(`${url}/health`);
    return res.status === 200 ? url : null;
  });
}

async function startCeiling(config: CeilingConfig, configFile: string): Promise<Server> {
  writeFileSync(configFile, JSON.stringify(config));
  return startProcess([join(DIST, 'bench', 'ceiling-server.js'), configFile], { PATH: process.env.PATH ?? '', NODE_ENV: 'production' }, async (out) => {
    const match = /LISTENING (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    return match ? match[1] : null;
  });
}

async function call(url: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function inBatches<T>(count: number, width: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) {
        const index = next++;
        out[index] = await task(index);
      }
    }),
  );
  return out;
}

function uploadBody(image: BenchImage): Record<string, unknown> {
  const side = Math.floor(Math.min(image.width, image.height) / 2);
  return { imageBase64: image.bytes.toString('base64'), contentType: 'image/jpeg', purpose: PURPOSE, faces: [{ x: 1, y: 1, width: side, height: side }] };
}

/** Registers the subjects, grants consent, uploads one read image each; answers the load targets. */
async function prepareService(url: string, readImage: BenchImage): Promise<{ reads: LoadTarget[]; uploads: LoadTarget[] }> {
  const body = uploadBody(readImage);
  const prepared = await inBatches(SUBJECTS, 8, async (i) => {
    const registered = await call(url, 'POST', '/v1/devices', { deviceId: `bench-device-${i}-${randomBytes(4).toString('hex')}`, deviceSecret: randomBytes(32).toString('hex'), isAdult: true });
    if (registered.status !== 201) throw new Error(`registration answered ${registered.status}: ${JSON.stringify(registered.json)}`);
    const token = String(registered.json.accessToken);
    const consent = await call(url, 'PUT', `/v1/me/consents/${PURPOSE}`, { policyVersion: POLICY_VERSION }, token);
    if (consent.status !== 200) throw new Error(`consent answered ${consent.status}: ${JSON.stringify(consent.json)}`);
    const uploaded = await call(url, 'POST', '/v1/images', body, token);
    if (uploaded.status !== 201) throw new Error(`upload answered ${uploaded.status}: ${JSON.stringify(uploaded.json)}`);
    return { token, imageId: String(uploaded.json.imageId) };
  });
  return {
    reads: prepared.map((p) => ({ path: `/v1/images/${p.imageId}/content`, token: p.token })),
    uploads: prepared.map((p) => ({ path: '/v1/images', token: p.token })),
  };
}

function headPosition(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return Number((db.prepare('SELECT coalesce(max(position), 0) FROM events').pluck().get() as number) ?? 0);
  } finally {
    db.close();
  }
}

/** correlationId → number of events of `type` appended after `after` whose correlation id starts with `prefix`. */
function eventsByCorrelation(file: string, type: string, after: number, prefix: string): Map<string, { count: number; data: Record<string, unknown> }> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare("SELECT json_extract(metadata, '$.correlationId') AS c, data FROM events WHERE type = ? AND position > ?")
      .all(type, after) as { c: string | null; data: string }[];
    const out = new Map<string, { count: number; data: Record<string, unknown> }>();
    for (const row of rows) {
      if (!row.c || !row.c.startsWith(prefix)) continue;
      const entry = out.get(row.c);
      if (entry) entry.count++;
      else out.set(row.c, { count: 1, data: JSON.parse(row.data) as Record<string, unknown> });
    }
    return out;
  } finally {
    db.close();
  }
}

function verify(load: LoadResult, events: Map<string, { count: number }>): Verification {
  let matched = 0;
  let okWithoutEvent = 0;
  let okWithSeveral = 0;
  let refusedWithEvent = 0;
  const answered = new Set<string>();
  for (const id of load.okIds) {
    answered.add(id);
    const entry = events.get(id);
    if (!entry) okWithoutEvent++;
    else if (entry.count > 1) okWithSeveral++;
    else matched++;
  }
  for (const id of load.otherIds) {
    answered.add(id);
    if (events.has(id)) refusedWithEvent++;
  }
  const extra = [...events.keys()].filter((id) => !answered.has(id));
  return { matched, okWithoutEvent, okWithSeveral, refusedWithEvent, unanswered: extra.length, extra };
}

function verificationProblems(v: Verification, connections: number): string[] {
  const problems: string[] = [];
  if (v.matched === 0) problems.push('no request succeeded');
  if (v.okWithoutEvent > 0) problems.push(`${v.okWithoutEvent} 2xx answers without their event`);
  if (v.okWithSeveral > 0) problems.push(`${v.okWithSeveral} 2xx answers with more than one event`);
  if (v.refusedWithEvent > 0) problems.push(`${v.refusedWithEvent} refused requests that left an event`);
  if (v.unanswered > connections) problems.push(`${v.unanswered} events of unanswered requests (more than the ${connections} that can be in flight)`);
  return problems;
}

async function runLoad(work: string, name: string, config: Omit<LoadConfig, 'outFile' | 'runId' | 'connections' | 'warmupSeconds' | 'durationSeconds'>): Promise<{ load: LoadResult; runId: string }> {
  const runId = `bench-${name}-${randomBytes(4).toString('hex')}`;
  const configFile = join(work, `${runId}.json`);
  const outFile = join(work, `${runId}.result.json`);
  const full: LoadConfig = { ...config, runId, outFile, connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: DURATION };
  writeFileSync(configFile, JSON.stringify(full));
  execFileSync('sync');
  await sleep(500);
  await new Promise<void>((done, fail) => {
    const proc = spawn(process.execPath, [join(DIST, 'bench', 'api-load-runner.js'), configFile], { stdio: ['ignore', 'inherit', 'inherit'] });
    proc.once('exit', (code) => (code === 0 ? done() : fail(new Error(`load runner exited with ${code}`))));
  });
  return { load: JSON.parse(readFileSync(outFile, 'utf8')) as LoadResult, runId };
}

async function readPhase(work: string, name: string, server: Server, eventsFile: string, targets: LoadTarget[]): Promise<PhaseResult> {
  const before = headPosition(eventsFile);
  const { load, runId } = await runLoad(work, name, { url: server.url, method: 'GET', targets });
  await sleep(2000); // requests cut off at the end finish on the server
  const verification = verify(load, eventsByCorrelation(eventsFile, 'ImageViewed', before, `${runId}-m-`));
  return { load, verification, notes: verificationProblems(verification, CONNECTIONS) };
}

async function uploadPhase(work: string, name: string, server: Server, dataDir: string, targets: LoadTarget[], bodyFile: string): Promise<PhaseResult> {
  const eventsFile = join(dataDir, 'events.db');
  const before = headPosition(eventsFile);
  const { load, runId } = await runLoad(work, name, { url: server.url, method: 'POST', targets, bodyFile });
  await sleep(2000);
  const prefix = `${runId}-m-`;
  const uploaded = eventsByCorrelation(eventsFile, 'ImageUploaded', before, prefix);
  const verification = verify(load, uploaded);
  const notes = verificationProblems(verification, CONNECTIONS);
  const logged = eventsByCorrelation(eventsFile, 'FaceDetectionLogged', before, prefix);
  const okIds = new Set(load.okIds);
  const okLogged = [...logged.keys()].filter((id) => okIds.has(id)).length;
  if (okLogged !== load.ok) notes.push(`${load.ok - okLogged} stored uploads without FaceDetectionLogged`);
  let missingObjects = 0;
  for (const id of load.okIds) {
    const key = uploaded.get(id)?.data.objectKey;
    if (typeof key !== 'string' || !existsSync(join(dataDir, 'objects', key))) missingObjects++;
  }
  if (missingObjects > 0) notes.push(`${missingObjects} stored uploads without their object`);
  return { load, verification, notes };
}

/** Stops with the service's last output when it died during a phase. */
function assertAlive(server: Server): void {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
    throw new Error(`the service exited during the run (${server.proc.exitCode ?? server.proc.signalCode}):\n${server.output().slice(-4000)}`);
  }
}

async function toggleProfile(server: Server): Promise<void> {
  if (!CPU_PROF) return;
  server.proc.stdin?.write('profile\n');
  await sleep(300);
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function row(name: string, phase: PhaseResult, ceiling?: number): string {
  const l = phase.load;
  const errors = l.non2xx + l.errors + l.timeouts;
  const ratio = ceiling ? fmt(l.okPerSecond / ceiling, 2) : '';
  return [
    name.padEnd(30),
    fmt(l.okPerSecond).padStart(8),
    fmt(l.latencyMs.p50, 1).padStart(8),
    fmt(l.latencyMs.p99, 1).padStart(8),
    fmt(l.latencyMs.max, 0).padStart(8),
    String(errors).padStart(7),
    `${phase.verification.matched}/${l.ok}`.padStart(13),
    String(phase.verification.unanswered).padStart(6),
    ratio.padStart(7),
  ].join(' ');
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'api-bench-'));
  const serviceDir = join(work, 'service');
  const ceilingDir = join(work, 'ceiling');
  mkdirSync(ceilingDir, { recursive: true });
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  const loadBefore = loadavg();
  const servers: Server[] = [];
  try {
    const [readImage, uploadImage] = [await photoLikeJpeg(READ_IMAGE_BYTES), await photoLikeJpeg(UPLOAD_IMAGE_BYTES)];
    const readImageFile = join(work, 'read.jpg');
    writeFileSync(readImageFile, readImage.bytes);
    const bodyFile = join(work, 'upload.json');
    writeFileSync(bodyFile, JSON.stringify(uploadBody(uploadImage)));
    console.log(
      `api bench: ${cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}; ${CONNECTIONS} connections, ` +
        `${WARMUP} s warm-up + ${DURATION} s measured per phase; ${SUBJECTS} subjects; read image ${fmt(readImage.bytes.length / 1024, 1)} KiB ` +
        `(${readImage.width}×${readImage.height}), upload image ${fmt(uploadImage.bytes.length / 1024, 1)} KiB (${uploadImage.width}×${uploadImage.height})`,
    );

    // --- the service ---------------------------------------------------------------------------
    const service = await startService(serviceDir);
    servers.push(service);
    const targets = await prepareService(service.url, readImage);
    await toggleProfile(service);
    const serviceReads = await readPhase(work, 'service-read', service, join(serviceDir, 'events.db'), targets.reads);
    assertAlive(service);
    await toggleProfile(service);
    await toggleProfile(service);
    const serviceUploads = await uploadPhase(work, 'service-upload', service, serviceDir, targets.uploads, bodyFile);
    assertAlive(service);
    await toggleProfile(service);
    await service.stop();
    servers.pop();
    const warnings = service.output().split('\n').filter((line) => /"level":"(warn|error|fatal)"/.test(line));

    // --- the ceiling ---------------------------------------------------------------------------
    const targetsFile = join(work, 'ceiling-targets.json');
    const ceiling = await startCeiling({ dataDir: ceilingDir, imageFile: readImageFile, subjects: SUBJECTS, targetsFile, uploadMaxBytes: 10 * 1024 * 1024 }, join(work, 'ceiling.json'));
    servers.push(ceiling);
    const ceilingTargets = JSON.parse(readFileSync(targetsFile, 'utf8')) as { reads: LoadTarget[]; uploads: LoadTarget[] };
    const ceilingReads = await readPhase(work, 'ceiling-read', ceiling, join(ceilingDir, 'events.db'), ceilingTargets.reads);
    const ceilingUploads = await uploadPhase(work, 'ceiling-upload', ceiling, ceilingDir, ceilingTargets.uploads, bodyFile);
    await ceiling.stop();
    servers.pop();

    const loadAfter = loadavg();
    const readCeiling = ceilingReads.load.okPerSecond;
    const uploadCeiling = ceilingUploads.load.okPerSecond;
    console.log('');
    console.log(
      ['phase'.padEnd(30), 'ok/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'max ms'.padStart(8), 'errors'.padStart(7), 'events/2xx'.padStart(13), 'late'.padStart(6), 'ratio'.padStart(7)].join(' '),
    );
    console.log(row('(a) content reads: service', serviceReads, readCeiling));
    console.log(row('(a) content reads: bare ceiling', ceilingReads));
    console.log(row('(b) uploads 200 KiB: service', serviceUploads, uploadCeiling));
    console.log(row('(b) uploads 200 KiB: bare anchor', ceilingUploads));
    console.log('');
    console.log('ok/s: 2xx answers per second of the measured run; errors: non-2xx + connection errors + timeouts; events/2xx: 2xx answers');
    console.log('whose request left exactly one event (ImageViewed / ImageUploaded) with its request id; late: events of requests still in');
    console.log('flight when the client stopped (completed by the server after the client left); ratio: service ÷ same-run bare server.');
    for (const [name, phase] of [
      ['service reads', serviceReads],
      ['service uploads', serviceUploads],
      ['ceiling reads', ceilingReads],
      ['ceiling uploads', ceilingUploads],
    ] as const) {
      const statuses = Object.entries(phase.load.statusCounts).map(([s, n]) => `${s}×${n}`).join(', ');
      console.log(`${name}: statuses ${statuses || '-'}; ${phase.notes.length === 0 ? 'verified' : `VERIFICATION FAILED: ${phase.notes.join('; ')}`}`);
    }
    if (warnings.length > 0) console.log(`service warnings during the run: ${warnings.length} (first: ${warnings[0].slice(0, 300)})`);
    console.log(`load average after: ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);
    const reads = serviceReads.load;
    const checks = [
      [`content reads ≥ ${TARGET_READS_PER_SECOND}/s`, reads.okPerSecond >= TARGET_READS_PER_SECOND],
      [`content read p99 ≤ ${TARGET_READ_P99_MS} ms`, reads.latencyMs.p99 <= TARGET_READ_P99_MS],
      [`content reads ≥ ${TARGET_READ_RATIO * 100}% of the ceiling`, reads.okPerSecond >= TARGET_READ_RATIO * readCeiling],
      [`uploads ≥ ${TARGET_UPLOADS_PER_SECOND}/s`, serviceUploads.load.okPerSecond >= TARGET_UPLOADS_PER_SECOND],
      ['every 2xx durably recorded', [serviceReads, serviceUploads, ceilingReads, ceilingUploads].every((p) => p.notes.length === 0)],
    ] as const;
    console.log(`targets: ${checks.map(([name, ok]) => `${name} ${ok ? 'MET' : 'NOT MET'}`).join('; ')}`);
    console.log(
      JSON.stringify({
        bench: 'api',
        results: [
          { name: 'content reads', value: round(reads.okPerSecond), unit: 'req/s', ceiling: round(readCeiling), ratio: round(reads.okPerSecond / readCeiling, 3) },
          { name: 'content reads p99', value: round(reads.latencyMs.p99, 1), unit: 'ms', ceiling: TARGET_READ_P99_MS, ratio: round(reads.latencyMs.p99 / TARGET_READ_P99_MS, 3) },
          {
            name: 'uploads 200 KiB',
            value: round(serviceUploads.load.okPerSecond),
            unit: 'req/s',
            ceiling: round(uploadCeiling),
            ratio: round(serviceUploads.load.okPerSecond / uploadCeiling, 3),
          },
        ],
      }),
    );
  } finally {
    for (const server of servers) await server.stop().catch(() => undefined);
    if (!KEEP) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : error);
  process.exit(1);
});
