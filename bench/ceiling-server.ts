/**
 * The ceiling of the API benchmark: a bare `node:http` server doing the work of the service's two
 * measured routes with the project's own building blocks and none of the framework (no Nest, no
 * Fastify, no auth, no logging, no validation pipe, no projections):
 *
 * - `GET /v1/images/<id>/content`: look the object key up (a Map), read the encrypted file
 *   (FilesystemObjectStorage), decrypt it (the envelope cipher, AES-256-GCM with the object key as
 *   AAD), append an `ImageViewed` of the same shape and size as the service's (same data fields,
 *   same metadata fields) with the project's SqliteEventStore as the service runs it (group
 *   commit, synchronous=FULL, writer thread) at 'stream_exists', and answer the bytes.
 * - `POST /v1/images` (the upload anchor): parse the JSON body, decode the Base64 strictly, inspect
 *   the header, check the face boxes and hash the bytes (the service's pure `checkUploadContent`),
 *   encrypt, put the object (temp file, fsync, rename, fsync of the directory), append
 *   `ImageUploaded` (face boxes encrypted as a personal field) and `FaceDetectionLogged`, answer 201.
 *   The subject is named by the bearer value (no token verification).
 *
 * `node dist/bench/ceiling-server.js <config.json>`: prepares its own subjects, keys and encrypted
 * images under `dataDir`, writes the load targets to `targetsFile`, then prints
 * `LISTENING http://127.0.0.1:<port>`. SIGTERM closes the server and the store and exits.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { SystemClock } from '../src/modules/clock/clock.port';
import { decryptBytes, encryptBytes } from '../src/modules/crypto/envelope-cipher';
import { encryptField } from '../src/modules/crypto/field-cipher';
import type { EventToAppend, JsonObject } from '../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../src/modules/event-store/sqlite/sqlite-event-store';
import { checkUploadContent, decideUpload, requireAllowedPurpose } from '../src/modules/facial-data/upload-image/upload-image.decider';
import { FilesystemObjectStorage } from '../src/modules/object-storage/filesystem/filesystem-object-storage';
import { objectKeys } from '../src/modules/object-storage/object-keys';
import type { LoadTarget } from './api-load-runner';

export interface CeilingConfig {
  readonly dataDir: string;
  /** The image every subject reads (the same bytes the service serves). */
  readonly imageFile: string;
  readonly subjects: number;
  /** Written: `{ reads: LoadTarget[], uploads: LoadTarget[] }`. */
  readonly targetsFile: string;
  readonly uploadMaxBytes: number;
  /** FULL (default): as the service. NORMAL only for experiments (no fsync per commit). */
  readonly synchronous?: 'FULL' | 'NORMAL';
}

interface StoredImage {
  readonly subjectId: string;
  readonly objectKey: string;
  readonly purpose: 'photo-restore';
  readonly contentType: 'image/jpeg';
}

const DATA_PURPOSE = 'photo-restore' as const;
const CONTENT_PATH = /^\/v1\/images\/([0-9a-f-]{36})\/content$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const clock = new SystemClock();

function metadata(subjectId: string, correlationId: string): JsonObject {
  return {
    occurredAt: clock.now().toISOString(),
    actor: `subject:${subjectId}`,
    correlationId,
    causationId: correlationId,
    schemaVersion: 1,
    subjectId,
  };
}

function requestIdOf(request: IncomingMessage): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

function answer(response: ServerResponse, status: number, requestId: string, body: Buffer | string, contentType: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-request-id': requestId });
  response.end(body);
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as CeilingConfig;
  // The store as the service runs it: group commit, synchronous=FULL, transactions on the writer thread.
  const store = new SqliteEventStore({
    file: join(config.dataDir, 'events.db'),
    clock,
    synchronous: config.synchronous ?? 'FULL',
    writer: SqliteEventStore.threadWriterAvailable() ? 'thread' : 'inline',
  });
  const storage = new FilesystemObjectStorage({ root: join(config.dataDir, 'objects') });
  const image = readFileSync(config.imageFile);
  const keys = new Map<string, Buffer>();
  const images = new Map<string, StoredImage>();
  const reads: LoadTarget[] = [];
  const uploads: LoadTarget[] = [];

  // Each subject: a data key (held in memory, as the service's key cache holds it), one encrypted
  // image on disk and its ImageUploaded, so that views append to an existing stream.
  for (let i = 0; i < config.subjects; i++) {
    const subjectId = randomUUID();
    const imageId = randomUUID();
    const key = randomBytes(32);
    keys.set(subjectId, key);
    const objectKey = objectKeys.original(subjectId, imageId);
    await storage.put(objectKey, encryptBytes(key, image, objectKey));
    const eventId = randomUUID();
    const uploaded: EventToAppend = {
      id: eventId,
      type: 'ImageUploaded',
      data: {
        imageId,
        subjectId,
        purpose: DATA_PURPOSE,
        contentType: 'image/jpeg',
        objectKey,
        size: image.length,
        sha256: createHash('sha256').update(image).digest('hex'),
        width: 1,
        height: 1,
        faceCount: 1,
        faces: encryptField(key, eventId, 'faces', [{ x: 0, y: 0, width: 1, height: 1 }]),
      },
      metadata: metadata(subjectId, randomUUID()),
    };
    await store.append(`image-${imageId}`, [uploaded], 'no_stream');
    images.set(imageId, { subjectId, objectKey, purpose: DATA_PURPOSE, contentType: 'image/jpeg' });
    reads.push({ path: `/v1/images/${imageId}/content`, token: subjectId });
    uploads.push({ path: '/v1/images', token: subjectId });
  }
  writeFileSync(config.targetsFile, JSON.stringify({ reads, uploads }));

  async function readContent(imageId: string, requestId: string, response: ServerResponse): Promise<void> {
    const found = images.get(imageId);
    if (!found) return answer(response, 404, requestId, '{"code":"IMAGE_NOT_FOUND"}', 'application/problem+json');
    const key = keys.get(found.subjectId) as Buffer;
    const bytes = decryptBytes(key, await storage.get(found.objectKey), found.objectKey);
    const viewed: EventToAppend = {
      id: randomUUID(),
      type: 'ImageViewed',
      data: { imageId, subjectId: found.subjectId, purpose: 'subject-view', dataPurpose: found.purpose },
      metadata: metadata(found.subjectId, requestId),
    };
    await store.append(`image-${imageId}`, [viewed], 'stream_exists');
    answer(response, 200, requestId, bytes, found.contentType);
  }

  async function upload(request: IncomingMessage, requestId: string, response: ServerResponse): Promise<void> {
    const subjectId = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    const key = keys.get(subjectId);
    if (!key) return answer(response, 401, requestId, '{"code":"UNAUTHENTICATED"}', 'application/problem+json');
    const body = JSON.parse((await readBody(request, Math.ceil(config.uploadMaxBytes / 3) * 4 + 65_536)).toString('utf8')) as {
      imageBase64: unknown;
      contentType: string;
      purpose: string;
      faces: { x: number; y: number; width: number; height: number }[];
    };
    const purpose = requireAllowedPurpose(body.purpose);
    const checked = checkUploadContent(
      { imageBase64: body.imageBase64, contentType: body.contentType, purpose, faces: body.faces },
      { maxBytes: config.uploadMaxBytes, maxPixels: 100_000_000 },
    );
    const imageId = randomUUID();
    const objectKey = objectKeys.original(subjectId, imageId);
    const events = decideUpload({ subjectId, imageId, purpose, objectKey, checked });
    await storage.put(objectKey, encryptBytes(key, checked.bytes, objectKey));
    const eventId = randomUUID();
    const meta = metadata(subjectId, requestId);
    const faces = checked.faces.map((f) => ({ x: f.x, y: f.y, width: f.width, height: f.height }));
    const data = { ...events.image.data, faces: encryptField(key, eventId, 'faces', faces) };
    await store.append(`image-${imageId}`, [{ id: eventId, type: 'ImageUploaded', data: data as unknown as JsonObject, metadata: meta }], 'no_stream');
    await store.append(`oplog-${subjectId}`, [{ id: randomUUID(), type: 'FaceDetectionLogged', data: { ...events.oplog.data }, metadata: meta }], 'any');
    answer(response, 201, requestId, JSON.stringify({ imageId, status: 'stored', uploadedAt: meta.occurredAt }), 'application/json');
  }

  const server = createServer((request, response) => {
    const requestId = requestIdOf(request);
    const url = request.url ?? '/';
    const match = request.method === 'GET' ? CONTENT_PATH.exec(url) : null;
    const work = match ? readContent(match[1], requestId, response) : request.method === 'POST' && url === '/v1/images' ? upload(request, requestId, response) : null;
    if (!work) return answer(response, 404, requestId, '{"code":"NOT_FOUND"}', 'application/problem+json');
    work.catch((error: unknown) => {
      if (!response.headersSent) answer(response, 500, requestId, JSON.stringify({ code: error instanceof Error ? error.name : 'ERROR' }), 'application/problem+json');
    });
  });
  server.keepAliveTimeout = 72_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    process.stdout.write(`LISTENING http://127.0.0.1:${port}\n`);
  });
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void store.close().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error('ceiling server failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
