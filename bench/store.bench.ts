/**
 * Event store benchmark: the embedded SqliteEventStore against raw better-sqlite3 ceilings on the
 * same schema, same pragmas, same machine, same run (npm run bench:store).
 *
 *   (a) durable appends from 100 concurrent callers (one event each, each on its own stream)
 *       vs raw "batched inserts": 100 inserts per transaction, synchronous=FULL;
 *   (b) single-caller sequential durable appends vs raw "one transaction per insert";
 *   (c) readAll of 1,000,000 events vs raw "plain ordered scan with JSON.parse of data and metadata"
 *       (the faster of one iterated statement and keyset pages of 1,000 rows).
 *
 * Disk timings are noisy, so each measurement alternates adapter and raw rounds and keeps the best
 * round of each. Prints a table, then exactly one JSON line:
 * `{"bench":"store","results":[{"name":…,"value":N,"unit":…,"ceiling":N,"ratio":N}]}`.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../src/modules/clock/clock.port';
import type { EventToAppend, ExpectedRevision, JsonObject } from '../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../src/modules/event-store/sqlite/sqlite-event-store';
import { configureConnection, migrate } from '../src/modules/event-store/sqlite/sqlite-schema';
import { benchLine, type BenchResult } from './bench-result';

const CONCURRENT_CALLERS = 100;
const CONCURRENT_EVENTS = Number(process.env.BENCH_CONCURRENT_EVENTS ?? 50_000);
const SEQUENTIAL_EVENTS = Number(process.env.BENCH_SEQUENTIAL_EVENTS ?? 2_000);
const READ_EVENTS = Number(process.env.BENCH_READ_EVENTS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);


const clock = new SystemClock();
const INSERT = 'INSERT INTO events (position, stream, revision, id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

/** A realistic event: ids, a purpose, a hash and a ciphertext field in data; the standard metadata. */
function makeData(n: number): JsonObject {
  return {
    imageId: '7d1f0a52-4a8e-4f8b-9a53-1b1e3f0c2d44',
    purpose: 'photo-restore',
    objectKeyHash: 'c0ffee5e7a0d9e6c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c',
    sizeBytes: 182_331 + n,
    mime: 'image/jpeg',
    faces: { count: 1, enc: 'v1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0BBQkNERUZH' },
  };
}

function makeMetadata(): JsonObject {
  return {
    occurredAt: '2026-01-05T02:00:00.000Z',
    actor: 'subject:0f8fa8b2-3b8a-4c7e-9d52-5e1e2a1c9a11',
    correlationId: randomUUID(),
    causationId: null,
    schemaVersion: 1,
    subjectId: '0f8fa8b2-3b8a-4c7e-9d52-5e1e2a1c9a11',
  };
}

function makeEvent(n: number): EventToAppend {
  return { id: randomUUID(), type: 'ImageUploaded', data: makeData(n), metadata: makeMetadata() };
}

function openRaw(file: string, synchronous: 'FULL' | 'OFF'): Database.Database {
  const db = new Database(file);
  configureConnection(db, { synchronous: 'FULL', busyTimeoutMs: 5000 });
  if (synchronous === 'OFF') db.pragma('synchronous = OFF');
  migrate(db);
  return db;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// --- (a) concurrent durable appends ------------------------------------------------------------

async function adapterConcurrent(dir: string, round: number): Promise<number> {
  const store = new SqliteEventStore({ file: join(dir, `concurrent-${round}.sqlite`), clock });
  let issued = 0;
  const caller = async (i: number): Promise<void> => {
    let expected: ExpectedRevision = 'no_stream';
    while (issued < CONCURRENT_EVENTS) {
      issued++;
      const result = await store.append(`load-${i}`, [makeEvent(issued)], expected);
      expected = result.nextExpectedRevision;
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENT_CALLERS }, (_, i) => caller(i)));
  const rate = CONCURRENT_EVENTS / seconds(start);
  await store.close();
  return rate;
}

function rawBatched(dir: string, round: number): number {
  const db = openRaw(join(dir, `raw-batched-${round}.sqlite`), 'FULL');
  const insert = db.prepare(INSERT);
  const revisions = new Array<number>(CONCURRENT_CALLERS).fill(0);
  let position = 0;
  const batch = db.transaction((from: number) => {
    const created = Date.now();
    for (let i = 0; i < CONCURRENT_CALLERS; i++) {
      position++;
      insert.run(position, `load-${i}`, revisions[i]++, randomUUID(), 'ImageUploaded', JSON.stringify(makeData(from + i)), JSON.stringify(makeMetadata()), created);
    }
  });
  const start = process.hrtime.bigint();
  for (let n = 0; n < CONCURRENT_EVENTS; n += CONCURRENT_CALLERS) batch(n);
  const rate = CONCURRENT_EVENTS / seconds(start);
  db.close();
  return rate;
}

// --- (b) single-caller sequential durable appends ----------------------------------------------

async function adapterSequential(dir: string, round: number): Promise<number> {
  const store = new SqliteEventStore({ file: join(dir, `sequential-${round}.sqlite`), clock });
  let expected: ExpectedRevision = 'no_stream';
  const start = process.hrtime.bigint();
  for (let n = 0; n < SEQUENTIAL_EVENTS; n++) {
    expected = (await store.append('single-1', [makeEvent(n)], expected)).nextExpectedRevision;
  }
  const rate = SEQUENTIAL_EVENTS / seconds(start);
  await store.close();
  return rate;
}

function rawSequential(dir: string, round: number): number {
  const db = openRaw(join(dir, `raw-sequential-${round}.sqlite`), 'FULL');
  const insert = db.prepare(INSERT);
  const one = db.transaction((n: number) => {
    insert.run(n + 1, 'single-1', n, randomUUID(), 'ImageUploaded', JSON.stringify(makeData(n)), JSON.stringify(makeMetadata()), Date.now());
  });
  const start = process.hrtime.bigint();
  for (let n = 0; n < SEQUENTIAL_EVENTS; n++) one(n);
  const rate = SEQUENTIAL_EVENTS / seconds(start);
  db.close();
  return rate;
}

// --- (c) readAll -------------------------------------------------------------------------------

function prefill(file: string): void {
  const db = openRaw(file, 'OFF');
  const insert = db.prepare(INSERT);
  const streams = 1000;
  const data = JSON.stringify(makeData(1));
  const metadata = JSON.stringify(makeMetadata());
  const fill = db.transaction((from: number, to: number) => {
    const created = Date.now();
    for (let p = from; p < to; p++) {
      insert.run(p + 1, `image-${p % streams}`, Math.floor(p / streams), randomUUID(), 'ImageUploaded', data, metadata, created);
    }
  });
  for (let from = 0; from < READ_EVENTS; from += 50_000) fill(from, Math.min(from + 50_000, READ_EVENTS));
  db.prepare(`INSERT INTO streams (stream, last_revision, last_position, state)
              SELECT stream, max(revision), max(position), 0 FROM events GROUP BY stream`).run();
  db.prepare('UPDATE log_head SET last_position = ?, last_created = ? WHERE id = 1').run(READ_EVENTS, Date.now());
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

async function adapterReadAll(file: string): Promise<number> {
  const store = new SqliteEventStore({ file, clock });
  let count = 0;
  const start = process.hrtime.bigint();
  for await (const event of store.readAll()) {
    if (event.data === null) throw new Error('unreachable');
    count++;
  }
  const rate = count / seconds(start);
  await store.close();
  if (count !== READ_EVENTS) throw new Error(`readAll returned ${count} events, expected ${READ_EVENTS}`);
  return rate;
}

/** The raw ceiling: the faster of a single ordered scan (iterate) and keyset pages (all), both parsing data and metadata. */
function rawScan(file: string): number {
  const db = openRaw(file, 'FULL');
  const columns = 'position, stream, revision, id, type, data, metadata, created';
  const scan = db.prepare(`SELECT ${columns} FROM events ORDER BY position`).raw(true);
  const page = db.prepare(`SELECT ${columns} FROM events WHERE position > ? ORDER BY position LIMIT 1000`).raw(true);
  const consume = (row: unknown[]): void => {
    const data = JSON.parse(row[5] as string) as unknown;
    const metadata = JSON.parse(row[6] as string) as unknown;
    if (data === null || metadata === null) throw new Error('unreachable');
  };
  let count = 0;
  let start = process.hrtime.bigint();
  for (const row of scan.iterate() as IterableIterator<unknown[]>) {
    consume(row);
    count++;
  }
  const iterated = count / seconds(start);
  if (count !== READ_EVENTS) throw new Error(`scan returned ${count} rows`);
  count = 0;
  start = process.hrtime.bigint();
  for (let after = 0; ; ) {
    const rows = page.all(after) as unknown[][];
    if (rows.length === 0) break;
    for (const row of rows) consume(row);
    count += rows.length;
    after = rows[rows.length - 1][0] as number;
  }
  const paged = count / seconds(start);
  if (count !== READ_EVENTS) throw new Error(`paged scan returned ${count} rows`);
  db.close();
  return Math.max(iterated, paged);
}

// --- runner ------------------------------------------------------------------------------------

async function best(rounds: number, adapter: (round: number) => Promise<number> | number, raw: (round: number) => number) {
  let value = 0;
  let ceiling = 0;
  for (let round = 0; round < rounds; round++) {
    ceiling = Math.max(ceiling, raw(round));
    value = Math.max(value, await adapter(round));
  }
  return { value, ceiling };
}

function result(name: string, unit: string, m: { value: number; ceiling: number }): BenchResult {
  return { name, value: Math.round(m.value), unit, ceiling: Math.round(m.ceiling), ratio: Math.round((m.value / m.ceiling) * 1000) / 1000 };
}

function printTable(results: BenchResult[]): void {
  const header = ['name', 'value', 'unit', 'ceiling', 'ratio'];
  const rows = results.map((r) => [r.name, String(r.value), r.unit, String(r.ceiling), r.ratio.toFixed(3)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'store-bench-'));
  try {
    console.log(`store bench in ${dir} (node ${process.version}, rounds ${ROUNDS})`);
    const concurrent = await best(ROUNDS, (r) => adapterConcurrent(dir, r), (r) => rawBatched(dir, r));
    console.log(`  concurrent: adapter ${Math.round(concurrent.value)} events/s, raw ${Math.round(concurrent.ceiling)} events/s`);
    const sequential = await best(ROUNDS, (r) => adapterSequential(dir, r), (r) => rawSequential(dir, r));
    console.log(`  sequential: adapter ${Math.round(sequential.value)} events/s, raw ${Math.round(sequential.ceiling)} events/s`);
    const readFile = join(dir, 'read.sqlite');
    const fillStart = process.hrtime.bigint();
    prefill(readFile);
    console.log(`  prefilled ${READ_EVENTS} events in ${seconds(fillStart).toFixed(1)} s`);
    const read = await best(ROUNDS, () => adapterReadAll(readFile), () => rawScan(readFile));
    console.log(`  readAll: adapter ${Math.round(read.value)} events/s, raw ${Math.round(read.ceiling)} events/s`);
    const results = [
      result('concurrent durable appends', 'events/s', concurrent),
      result('single-caller durable appends', 'events/s', sequential),
      result('readAll', 'events/s', read),
    ];
    console.log('');
    printTable(results);
    console.log(benchLine('store', results));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
