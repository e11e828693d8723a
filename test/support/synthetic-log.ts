/**
 * A synthetic but realistic event log for benchmarks and crash tests: every catalogue event type,
 * many subjects living interleaved lives (register, consent, upload, view, process through every
 * job step, temp files, disclosures, artworks, deletions, rights requests, exports, auditor reads,
 * restrictions, withdrawals, erasure), data valid per the schemas, personal fields replaced by
 * ciphertext-looking `{ $pii }` values, metadata as EventLog writes it. Deterministic for a seed.
 *
 * `writeSyntheticLog` bulk-inserts it into an embedded (SqliteEventStore) file directly: far faster
 * than appending through the store, and the file is exactly what the store would have written.
 */
import Database from 'better-sqlite3';
import { validateEventData, definitionOf } from '../../src/events';
import { uuidV7From } from '../../src/common/ids/uuid-v7';
import type { JsonObject, JsonValue } from '../../src/modules/event-store/event-store.port';
import { configureConnection, migrate } from '../../src/modules/event-store/sqlite/sqlite-schema';

export interface SyntheticEvent {
  readonly stream: string;
  readonly revision: number;
  readonly id: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
  /** Store time, ms. */
  readonly created: number;
}

export interface SyntheticLogOptions {
  /** Total events. */
  readonly events: number;
  /** Distinct subjects (all appear in the first ~60% of the log). */
  readonly subjects: number;
  readonly seed?: number;
  /** Validate every event's plaintext data against its schema before encrypting-looking it (slower). */
  readonly validate?: boolean;
  readonly start?: string;
}

const PURPOSES = ['photo-restore', 'time-painting', 'ai-edit', 'photo-enlarge', 'erase-pen', 'face-detection-verification'] as const;
const POLICY = '2025-06-24';

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

class Randomness {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** The log's current time (ms): ids are minted as the service mints them, UUIDv7 at that time. */
  nowMs = 0;
  uuid(): string {
    const random: number[] = [];
    for (let i = 0; i < 10; i++) random.push(this.int(256));
    return uuidV7From(this.nowMs, random);
  }
  hex(bytes: number): string {
    let s = '';
    for (let i = 0; i < bytes; i++) s += HEX[this.int(256)];
    return s;
  }
}

/** What `SubjectCipher.encryptFields` leaves in the log: `{ $pii: "v1.<base64url(iv|tag|ciphertext)>" }`. */
function ciphertextPool(random: Randomness): JsonObject[] {
  const pool: JsonObject[] = [];
  for (let i = 0; i < 512; i++) {
    const bytes = Buffer.alloc(28 + 16 + random.int(160));
    for (let j = 0; j < bytes.length; j++) bytes[j] = random.int(256);
    pool.push({ $pii: `v1.${bytes.toString('base64url')}` });
  }
  return pool;
}

interface Draft {
  readonly stream: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly actor: string;
}

/** The generator of one subject's life: yields drafts, forever, until erased. */
function* subjectLife(r: Randomness, subjectId: string): Generator<Draft, void, void> {
  const me = `subject:${subjectId}`;
  const subject = `subject-${subjectId}`;
  const deviceHash = r.hex(32);
  yield { stream: `device-${deviceHash}`, type: 'DeviceRegistered', data: { subjectId, deviceHash, secretHash: 'scrypt$placeholder' }, actor: me };
  const adult = r.chance(0.93);
  yield { stream: subject, type: 'SubjectRegistered', data: { subjectId, deviceId: `device-${r.hex(8)}`, ageBasis: adult ? 'adult' : 'guardian', policyVersion: POLICY }, actor: me };
  yield { stream: subject, type: adult ? 'AdultConfirmed' : 'GuardianConsentRecorded', data: { subjectId }, actor: me };
  const consents = new Set<string>();
  const firstPurposes = 1 + r.int(3);
  for (let i = 0; i < firstPurposes; i++) {
    const purpose = r.pick(PURPOSES);
    consents.add(purpose);
    yield { stream: subject, type: 'ConsentGranted', data: { subjectId, purpose, policyVersion: POLICY }, actor: me };
  }
  const restricted = new Set<string>();
  for (;;) {
    const roll = r.next();
    if (roll < 0.7 && consents.size > 0) {
      yield* imageSession(r, subjectId, r.pick([...consents]));
    } else if (roll < 0.78) {
      const purpose = r.pick(PURPOSES);
      if (consents.has(purpose) && r.chance(0.5)) {
        consents.delete(purpose);
        yield { stream: subject, type: 'ConsentWithdrawn', data: { subjectId, purpose, policyVersion: POLICY }, actor: me };
      } else {
        consents.add(purpose);
        yield { stream: subject, type: 'ConsentGranted', data: { subjectId, purpose, policyVersion: POLICY }, actor: me };
      }
    } else if (roll < 0.82) {
      const purpose = r.pick(PURPOSES);
      if (restricted.has(purpose)) {
        restricted.delete(purpose);
        yield { stream: subject, type: 'RestrictionLifted', data: { subjectId, purpose }, actor: me };
      } else {
        restricted.add(purpose);
        yield { stream: subject, type: 'ProcessingRestricted', data: { subjectId, purpose, requestId: null }, actor: me };
      }
    } else if (roll < 0.9) {
      yield* rightsRequest(r, subjectId);
    } else if (roll < 0.95) {
      yield {
        stream: 'audit-2026-01-05',
        type: 'AuditorAccessed',
        data: { auditor: 'alice', endpoint: 'GET /v1/audit/subjects/{subjectId}/history', query: { subjectId }, subjectId, resultCount: 1 + r.int(40) },
        actor: 'auditor:alice',
      };
    } else if (roll < 0.965) {
      const receiptId = r.uuid();
      yield { stream: subject, type: 'SubjectErasureStarted', data: { subjectId, receiptId }, actor: me };
      yield {
        stream: subject,
        type: 'SubjectErased',
        data: {
          subjectId,
          receiptId,
          erasedAt: '2026-01-05T02:00:00.000Z',
          objectsDeleted: r.int(6),
          imagesDeleted: r.int(3),
          artworksDeleted: r.int(3),
          tempFilesDeleted: 0,
          exportsDeleted: r.int(2),
          jobsCancelled: 0,
          keyDestroyed: true,
          operationLogTombstoned: true,
        },
        actor: 'system:erasure',
      };
      yield { stream: `device-${deviceHash}`, type: 'DeviceReleased', data: { subjectId, deviceHash, reason: 'erasure' }, actor: 'system:erasure' };
      return;
    }
  }
}

function* imageSession(r: Randomness, subjectId: string, purpose: string): Generator<Draft, void, void> {
  const me = `subject:${subjectId}`;
  const imageId = r.uuid();
  const image = `image-${imageId}`;
  const oplog = `oplog-${subjectId}`;
  const faceCount = purpose === 'photo-enlarge' ? r.int(2) : 1 + r.int(3);
  const faces = Array.from({ length: faceCount }, () => ({ x: r.int(800), y: r.int(800), width: 50 + r.int(300), height: 50 + r.int(300) }));
  const contentType = r.pick(['image/jpeg', 'image/png', 'image/heic'] as const);
  const objectKey = `originals/${subjectId}/${imageId}`;
  yield {
    stream: image,
    type: 'ImageUploaded',
    data: { imageId, subjectId, purpose, contentType, objectKey, size: 50_000 + r.int(5_000_000), sha256: r.hex(32), width: 640 + r.int(3000), height: 480 + r.int(3000), faceCount, faces },
    actor: me,
  };
  yield { stream: oplog, type: 'FaceDetectionLogged', data: { subjectId, imageId, purpose, faceCount }, actor: 'system:processing' };
  if (r.chance(0.4)) yield { stream: image, type: 'ImageViewed', data: { imageId, subjectId, purpose: 'subject-view', dataPurpose: purpose }, actor: me };
  const jobs = r.chance(0.85) ? 1 : r.chance(0.5) ? 2 : 0;
  let artworkCount = 0;
  for (let j = 0; j < jobs; j++) {
    const jobId = r.uuid();
    const job = `job-${jobId}`;
    const options: JsonValue = purpose === 'erase-pen' ? { regions: [{ x: r.int(500), y: r.int(500), width: 20 + r.int(100), height: 20 + r.int(100) }] } : { strength: r.int(10) };
    yield { stream: job, type: 'JobQueued', data: { jobId, imageId, subjectId, purpose, options }, actor: me };
    if (r.chance(0.04)) {
      yield { stream: job, type: 'JobCancelled', data: { jobId, subjectId, imageId, purpose, reason: 'consent-withdrawn' }, actor: 'system:processing' };
      continue;
    }
    yield { stream: job, type: 'JobStarted', data: { jobId, subjectId, imageId, purpose, attempt: 1, worker: 'worker-1', leaseUntil: '2026-01-05T03:00:00.000Z' }, actor: 'system:processing' };
    yield { stream: oplog, type: 'ProcessingLogged', data: { subjectId, jobId, imageId, purpose, step: 'started' }, actor: 'system:processing' };
    const tempKey = `temp/${subjectId}/${jobId}/input`;
    yield { stream: job, type: 'TempFileCreated', data: { jobId, subjectId, objectKey: tempKey, kind: 'input', size: 10_000 + r.int(2_000_000) }, actor: 'system:processing' };
    yield {
      stream: job,
      type: 'DataDisclosedToProcessor',
      data: { jobId, subjectId, imageId, processor: r.pick(['local-sharp', 'ai-server-hz']), purpose, objectSha256: r.hex(32), bytes: 10_000 + r.int(2_000_000) },
      actor: 'system:processing',
    };
    const failed = r.chance(0.08);
    const artworkId = failed ? null : r.uuid();
    if (failed) {
      yield { stream: job, type: 'JobFailed', data: { jobId, subjectId, imageId, purpose, code: 'PROCESSOR_ERROR', message: 'The processor answered 500' }, actor: 'system:processing' };
    } else {
      yield { stream: job, type: 'JobCompleted', data: { jobId, subjectId, imageId, purpose, artworkId, summary: { durationMs: 200 + r.int(5000), scale: 2 } }, actor: 'system:processing' };
    }
    yield { stream: job, type: 'TempFileDeleted', data: { jobId, subjectId, objectKey: tempKey, reason: 'retention', rule: 'temp-files' }, actor: 'system:retention' };
    yield { stream: oplog, type: 'ProcessingLogged', data: { subjectId, jobId, imageId, purpose, step: failed ? 'failed' : 'completed', durationMs: r.int(5000), ...(failed ? { code: 'PROCESSOR_ERROR' } : {}) }, actor: 'system:processing' };
    if (artworkId) {
      artworkCount++;
      const artwork = `artwork-${artworkId}`;
      const artworkKey = `artworks/${subjectId}/${artworkId}`;
      yield {
        stream: artwork,
        type: 'ArtworkGenerated',
        data: { artworkId, subjectId, jobId, imageId, purpose, objectKey: artworkKey, contentType: 'image/jpeg', size: 80_000 + r.int(4_000_000), sha256: r.hex(32), width: 1024 + r.int(3000), height: 768 + r.int(3000) },
        actor: 'system:processing',
      };
      if (r.chance(0.6)) yield { stream: artwork, type: 'ArtworkViewed', data: { artworkId, subjectId, purpose: 'subject-view', dataPurpose: purpose }, actor: me };
      if (r.chance(0.2)) yield { stream: artwork, type: 'ArtworkDeleted', data: { artworkId, subjectId, purpose, objectKey: artworkKey, reason: 'user' }, actor: me };
    }
  }
  const reason = artworkCount > 0 || jobs > 0 ? 'retention' : 'user';
  yield {
    stream: image,
    type: 'ImageDeleted',
    data: reason === 'retention' ? { imageId, subjectId, purpose, objectKey, reason, rule: 'original-after-processing', dueAt: '2026-01-06T02:00:00.000Z' } : { imageId, subjectId, purpose, objectKey, reason },
    actor: reason === 'retention' ? 'system:retention' : me,
  };
}

function* rightsRequest(r: Randomness, subjectId: string): Generator<Draft, void, void> {
  const me = `subject:${subjectId}`;
  const requestId = r.uuid();
  const stream = `request-${requestId}`;
  const type = r.pick(['access', 'export', 'deletion', 'correction', 'restriction'] as const);
  const needsDecision = type === 'correction' || type === 'deletion';
  yield {
    stream,
    type: 'RightsRequestReceived',
    data: { requestId, subjectId, type, resource: null, details: r.chance(0.5) ? 'Please check my photos' : null, receivedAt: '2026-01-05T02:00:00.000Z', dueAt: '2026-01-12T02:00:00.000Z', needsDecision },
    actor: me,
  };
  yield { stream, type: 'RightsRequestProcessingStarted', data: { requestId, subjectId, step: type }, actor: 'system:rights' };
  if (type === 'export') {
    yield { stream, type: 'DataExported', data: { requestId, subjectId, images: r.int(3), artworks: r.int(3), files: ['history.json', 'consents.json', 'access-log.json'] }, actor: me };
  }
  if (r.chance(0.03)) {
    yield { stream, type: 'RightsRequestOverdue', data: { requestId, subjectId, dueAt: '2026-01-12T02:00:00.000Z', detectedAt: '2026-01-12T02:01:00.000Z' }, actor: 'system:rights' };
  }
  if (needsDecision && r.chance(0.3)) {
    yield { stream, type: 'RightsRequestRejected', data: { requestId, subjectId, decidedBy: 'dpo:dora', reason: 'The request is unfounded' }, actor: 'dpo:dora' };
  } else {
    yield { stream, type: 'RightsRequestFulfilled', data: { requestId, subjectId, decidedBy: needsDecision ? 'dpo:dora' : 'system:rights', outcome: { action: type }, note: null }, actor: needsDecision ? 'dpo:dora' : 'system:rights' };
  }
}

/** The log, lazily, in order. */
export function* syntheticEvents(options: SyntheticLogOptions): Generator<SyntheticEvent, void, void> {
  const r = new Randomness(prng(options.seed ?? 42));
  const ciphertexts = ciphertextPool(r);
  const revisions = new Map<string, number>();
  const pool: { subjectId: string; life: Generator<Draft, void, void> }[] = [];
  let introduced = 0;
  const introduceEvery = Math.max(1, (options.events * 0.6) / Math.max(1, options.subjects));
  let time = new Date(options.start ?? '2026-01-05T00:00:00.000Z').getTime();
  r.nowMs = time;
  let emitted = 0;
  let nextSubjectAt = 0;
  const purgeEvery = Math.max(1_000, Math.floor(options.events / 10));
  const verifyEvery = Math.max(1_000, Math.floor(options.events / 4));

  const emit = (draft: Draft): SyntheticEvent => {
    const revision = (revisions.get(draft.stream) ?? -1) + 1;
    revisions.set(draft.stream, revision);
    const id = r.uuid();
    time += r.int(20);
    r.nowMs = time;
    const definition = definitionOf(draft.type);
    if (!definition) throw new Error(`unknown type ${draft.type}`);
    if (options.validate) validateEventData(draft.type, draft.data);
    let data = draft.data;
    if (definition.personalFields.length > 0) {
      data = { ...data };
      for (const field of definition.personalFields) if (data[field] !== undefined) data[field] = r.pick(ciphertexts);
    }
    const occurredAt = new Date(time).toISOString();
    const subjectId = typeof draft.data.subjectId === 'string' ? draft.data.subjectId : null;
    const metadata: JsonObject = { occurredAt, actor: draft.actor, correlationId: r.uuid(), causationId: null, schemaVersion: definition.schemaVersion, subjectId };
    emitted++;
    return { stream: draft.stream, revision, id, type: draft.type, data, metadata, created: time };
  };

  while (emitted < options.events) {
    if (introduced < options.subjects && (emitted >= nextSubjectAt || pool.length === 0)) {
      const subjectId = r.uuid();
      pool.push({ subjectId, life: subjectLife(r, subjectId) });
      introduced++;
      nextSubjectAt += introduceEvery;
    }
    if (pool.length === 0) break;
    // Rare system-wide events.
    if (emitted > 0 && emitted % purgeEvery === 0) {
      yield emit({
        stream: 'retention-2026-01-05',
        type: 'OperationLogsPurged',
        data: { purgedAt: new Date(time).toISOString(), entriesRemoved: r.int(500), entriesLate: 0, maxLatenessSeconds: 0, mode: 'removed' },
        actor: 'system:retention',
      });
      continue;
    }
    if (emitted > 0 && emitted % verifyEvery === 1) {
      yield emit({
        stream: 'audit-2026-01-05',
        type: 'VerificationCompleted',
        data: { verificationId: r.uuid(), requestedBy: 'auditor:alice', eventsReplayed: emitted, projectionsMatch: true, mismatchCount: 0, retentionViolationCount: 0 },
        actor: 'auditor:alice',
      });
      continue;
    }
    const index = r.int(pool.length);
    const next = pool[index].life.next();
    if (next.done) {
      pool[index] = pool[pool.length - 1];
      pool.pop();
      continue;
    }
    yield emit(next.value);
  }
}

export interface WrittenLog {
  readonly events: number;
  readonly streams: number;
  readonly bytes: number;
}

/** Bulk-writes a synthetic log into a new embedded event store file (schema, events, streams, head). */
export function writeSyntheticLog(file: string, options: SyntheticLogOptions): WrittenLog {
  const db = new Database(file);
  try {
    configureConnection(db, { synchronous: 'NORMAL', busyTimeoutMs: 5000 });
    migrate(db);
    db.pragma('synchronous = OFF');
    const insert = db.prepare('INSERT INTO events (position, stream, revision, id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const streams = new Map<string, [revision: number, position: number]>();
    let position = 0;
    let created = 0;
    let bytes = 0;
    let batch: SyntheticEvent[] = [];
    const flush = db.transaction((events: SyntheticEvent[]) => {
      for (const e of events) {
        position++;
        const data = JSON.stringify(e.data);
        const metadata = JSON.stringify(e.metadata);
        bytes += data.length + metadata.length;
        insert.run(position, e.stream, e.revision, e.id, e.type, data, metadata, e.created);
        streams.set(e.stream, [e.revision, position]);
        created = e.created;
      }
    });
    for (const event of syntheticEvents(options)) {
      batch.push(event);
      if (batch.length >= 20_000) {
        flush(batch);
        batch = [];
      }
    }
    if (batch.length > 0) flush(batch);
    const insertStream = db.prepare('INSERT INTO streams (stream, last_revision, last_position, state) VALUES (?, ?, ?, 0)');
    db.transaction(() => {
      for (const [stream, [revision, last]] of streams) insertStream.run(stream, revision, last);
      db.prepare('UPDATE log_head SET last_position = ?, last_created = ? WHERE id = 1').run(position, created);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { events: position, streams: streams.size, bytes };
  } finally {
    db.close();
  }
}
