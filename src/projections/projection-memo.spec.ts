/**
 * The applier's per-transaction memo (Projection.apply's third argument, written back by
 * Projection.flush) must never change what a projection writes: the same log applied event by
 * event without a memo (as a projection's own specs do), in one transaction with a memo (an
 * initial build), and in transactions of a few events (the live runner) gives the same rows, table
 * by table. Runs every projection over a synthetic log that holds purges and erasures (the events
 * before which the retention ledger writes its memo back).
 */
import type { Database } from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticEvents } from '../../test/support/synthetic-log';
import type { StoredEvent } from '../modules/event-store/event-store.port';
import { ALL_PROJECTIONS } from './index';
import type { Projection } from './projection';
import { ProjectionApplier } from './projection-applier';
import { openReadModelDatabase } from './read-model-database';

function storedLog(): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (const e of syntheticEvents({ events: 30_000, subjects: 900, seed: 31 })) {
    const position = BigInt(out.length + 1);
    out.push({ id: e.id, stream: e.stream, revision: BigInt(e.revision), position: { commit: position, prepare: position }, type: e.type, data: e.data, metadata: e.metadata, created: new Date(e.created) });
  }
  return out;
}

function rows(db: Database, projection: Projection): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const table of projection.tables) out[table.name] = db.prepare(`SELECT * FROM ${table.name} ORDER BY ${table.orderBy}`).raw(true).all();
  return out;
}

/** Applies `events` to a fresh database: directly (no memo), or through an applier in transactions of `perTransaction` events. */
function build(projection: Projection, events: readonly StoredEvent[], perTransaction: number | 'direct'): Record<string, unknown[]> {
  const db = openReadModelDatabase(':memory:');
  try {
    if (perTransaction === 'direct') {
      projection.setup(db);
      db.transaction(() => {
        for (const event of events) if (projection.eventTypes.includes(event.type)) projection.apply(db, event);
      })();
    } else {
      const applier = new ProjectionApplier(db, [projection]);
      for (let i = 0; i < events.length; i += perTransaction) applier.apply(events.slice(i, i + perTransaction));
    }
    return rows(db, projection);
  } finally {
    db.close();
  }
}

describe('the applier memo changes nothing a projection writes', () => {
  let events: StoredEvent[];

  beforeAll(() => {
    events = storedLog();
  });

  it('the log exercises the memo: operation-log entries, purges and erasures of tombstoned operation logs', () => {
    const count = (type: string) => events.filter((e) => e.type === type).length;
    expect(count('FaceDetectionLogged') + count('ProcessingLogged')).toBeGreaterThan(1_000);
    expect(count('OperationLogsPurged')).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'SubjectErased' && e.data.operationLogTombstoned === true)).toBe(true);
  });

  it('subjects: an erasure of a subject whose registration is still in the memo writes the memo first', () => {
    const subjectsProjection = ALL_PROJECTIONS.find((p) => p.name === 'subjects') as Projection;
    const subject = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const receiptId = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
    const log: StoredEvent[] = [];
    const add = (type: string, data: Record<string, unknown>) => {
      const position = BigInt(log.length + 1);
      const occurredAt = new Date(Date.UTC(2026, 0, 5) + log.length * 1000).toISOString();
      log.push({ id: `00000000-0000-4000-9000-${String(log.length).padStart(12, '0')}`, stream: `subject-${String(data.subjectId)}`, revision: 0n, position: { commit: position, prepare: position }, type, data: data as StoredEvent['data'], metadata: { occurredAt, actor: 'system:test' }, created: new Date(occurredAt) });
    };
    for (let n = 0; n < 45; n++) add('SubjectRegistered', { subjectId: subject(n), ageBasis: 'adult' });
    add('SubjectErasureStarted', { subjectId: subject(44), receiptId }); // registered after the first 40: still in the memo
    add('SubjectErased', { subjectId: subject(44), receiptId, erasedAt: '2026-01-06T00:00:00.000Z' });
    add('SubjectRegistered', { subjectId: subject(44), ageBasis: 'guardian' }); // again: ignored, as one at a time
    add('SubjectErasureStarted', { subjectId: subject(3), receiptId });
    const direct = build(subjectsProjection, log, 'direct');
    expect(direct.subjects.filter((row) => (row as unknown[])[1] !== 'active').map((row) => (row as unknown[]).slice(0, 2))).toEqual([
      [subject(3), 'erasing'],
      [subject(44), 'erased'],
    ]);
    expect(build(subjectsProjection, log, log.length)).toEqual(direct);
    expect(build(subjectsProjection, log, 3)).toEqual(direct);
  });

  for (const projection of ALL_PROJECTIONS) {
    it(`${projection.name}: event by event without a memo = one transaction = transactions of 7 events`, () => {
      const direct = build(projection, events, 'direct');
      const oneTransaction = build(projection, events, events.length);
      const small = build(projection, events, 7);
      expect(Object.values(direct).some((table) => table.length > 0)).toBe(true);
      expect(oneTransaction).toEqual(direct);
      expect(small).toEqual(direct);
    });
  }
});
