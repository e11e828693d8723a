/**
 * Content reads at volume, end to end: the cost of a read does not grow with the views an image
 * has gathered (a constant number of store reads per view), concurrent readers of one image never
 * conflict, and a deletion racing a crowd of readers is neither starved nor leaves a view without
 * its bytes served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/modules/clock/clock.port';
import type { ReadStreamOptions, StoredEvent } from '../../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../../src/modules/event-store/sqlite/sqlite-event-store';
import { binary } from '../fixtures/binary-body';
import { base64Of, jpegImage, type FixtureImage } from '../fixtures/images';
import { bearer, registerSubject, startTestApp, type TestApp } from '../support/test-app';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** The embedded store, counting the stream reads (and events read) per stream. */
class CountingStore extends SqliteEventStore {
  readonly streamReads = new Map<string, number>();
  readonly eventsRead = new Map<string, number>();

  override readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<StoredEvent> {
    this.streamReads.set(stream, (this.streamReads.get(stream) ?? 0) + 1);
    const inner = super.readStream(stream, options);
    const counts = this.eventsRead;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const event of inner) {
          counts.set(stream, (counts.get(stream) ?? 0) + 1);
          yield event;
        }
      },
    };
  }
}

type Subject = Awaited<ReturnType<typeof registerSubject>>;

describe('content reads at volume', () => {
  let t: TestApp;
  let store: CountingStore;
  let storeDir: string;
  let a: Subject;
  let jpeg: FixtureImage;

  beforeAll(async () => {
    storeDir = mkdtempSync(join(tmpdir(), 'content-reads-store-'));
    store = new CountingStore({ file: join(storeDir, 'events.db'), clock: new SystemClock() });
    t = await startTestApp({ overrides: { eventStore: store } });
    a = await registerSubject(t);
    const consent = await t.http().put('/v1/me/consents/photo-restore').set(bearer(a.token)).send({ policyVersion: t.config.policyVersion });
    expect(consent.status).toBe(200);
    jpeg = await jpegImage(64, 48);
  });

  afterAll(async () => {
    await t?.close();
    await store?.close();
    rmSync(storeDir, { recursive: true, force: true });
  });

  async function uploadImage(): Promise<string> {
    const res = await t
      .http()
      .post('/v1/images')
      .set(bearer(a.token))
      .send({ imageBase64: base64Of(jpeg), contentType: 'image/jpeg', purpose: 'photo-restore', faces: [{ x: 1, y: 1, width: 10, height: 10 }] });
    expect(res.status).toBe(201);
    return res.body.imageId as string;
  }

  const read = (imageId: string) => t.http().get(`/v1/images/${imageId}/content`).set(bearer(a.token)).buffer(true).parse(binary);

  it('1,000 views of one image: every view one ImageViewed, and the store reads per view stay constant (none after the first)', async () => {
    const imageId = await uploadImage();
    const stream = `image-${imageId}`;
    const mark = await t.mark();
    const readsAfter: number[] = [];
    const eventsReadAfter: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      const res = await read(imageId);
      expect(res.status).toBe(200);
      if (i === 1 || i === 500 || i === 1000) {
        readsAfter.push(store.streamReads.get(stream) ?? 0);
        eventsReadAfter.push(store.eventsRead.get(stream) ?? 0);
      }
    }
    // The first view may read the upload's first event (or it was cached at upload time); the
    // 999 views after it read the image stream no more, however many views it holds.
    expect(readsAfter[1]).toBe(readsAfter[0]);
    expect(readsAfter[2]).toBe(readsAfter[0]);
    expect(eventsReadAfter[2]).toBe(eventsReadAfter[0]);
    expect(eventsReadAfter[0]).toBeLessThanOrEqual(1);
    const events = await t.eventsSince(mark);
    expect(events.filter((e) => e.type === 'ImageViewed' && e.stream === stream)).toHaveLength(1000);
    expect(events.every((e) => e.type === 'ImageViewed')).toBe(true);
  });

  it('50 concurrent reads of one image all succeed, with exactly 50 ImageViewed', async () => {
    const imageId = await uploadImage();
    const mark = await t.mark();
    const reads = await Promise.all(Array.from({ length: 50 }, () => read(imageId)));
    expect(reads.map((r) => r.status)).toEqual(Array(50).fill(200));
    for (const r of reads) expect(Buffer.compare(r.body as Buffer, jpeg.bytes)).toBe(0);
    const events = await t.eventsSince(mark);
    expect(events.map((e) => `${e.type}@${e.stream}`)).toEqual(Array(50).fill(`ImageViewed@image-${imageId}`));
    expect(new Set(events.map((e) => e.metadata.correlationId)).size).toBe(50);
  });

  it('a deletion racing 60 readers of its image goes through (204); every 200 carries the bytes and has its view, every other read is 410', async () => {
    const imageId = await uploadImage();
    const mark = await t.mark();
    const reads = Array.from({ length: 60 }, (_, i) =>
      t
        .http()
        .get(`/v1/images/${imageId}/content`)
        .set(bearer(a.token))
        .set('X-Request-Id', `race-read-${i}`)
        .buffer(true)
        .parse(binary),
    );
    const deletion = t.http().delete(`/v1/images/${imageId}`).set(bearer(a.token));
    const [deleted, ...answers] = await Promise.all([deletion, ...reads]);
    expect(deleted.status).toBe(204);
    const served = answers.filter((r) => r.status === 200);
    for (const r of served) expect(Buffer.compare(r.body as Buffer, jpeg.bytes)).toBe(0);
    for (const r of answers.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(410);
      expect(JSON.parse((r.body as Buffer).toString('utf8')).code).toBe('IMAGE_DELETED');
    }
    const events = await t.eventsSince(mark);
    expect(events.filter((e) => e.type === 'ImageDeleted')).toHaveLength(1);
    const views = events.filter((e) => e.type === 'ImageViewed');
    // A view is recorded if and only if its bytes were served.
    expect(views.map((e) => e.metadata.correlationId).sort()).toEqual(served.map((r) => r.headers['x-request-id']).sort());
    // After the deletion is answered, nothing is served any more.
    expect((await read(imageId)).status).toBe(410);
  });
});
