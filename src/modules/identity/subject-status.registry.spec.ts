import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ProjectionRunner, EventsListener } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { ManualClock } from '../clock/clock.port';
import type { StoredEvent } from '../event-store/event-store.port';
import { ACTIVE_SUBJECT_TTL_MS, SubjectStatusRegistry } from './subject-status.registry';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

function setup() {
  const db = new Database(':memory:');
  db.exec("CREATE TABLE subjects (subject_id TEXT PRIMARY KEY, status TEXT NOT NULL)");
  db.prepare("INSERT INTO subjects VALUES (?, 'active'), (?, 'active')").run(A, B);
  let listener: EventsListener = () => undefined;
  const runner = { onEvents: (l: EventsListener) => ((listener = l), () => undefined) } as unknown as ProjectionRunner;
  const clock = new ManualClock('2026-03-02T10:00:00.000Z');
  const registry = new SubjectStatusRegistry(new ReadModels(db), runner, clock);
  const setStatus = (subjectId: string, status: string) => db.prepare('UPDATE subjects SET status = ? WHERE subject_id = ?').run(status, subjectId);
  const applied = (type: string, subjectId: string) =>
    listener([{ type, data: { subjectId, receiptId: B }, metadata: {}, id: A, stream: `subject-${subjectId}`, revision: 3n, position: { commit: 9n, prepare: 9n }, created: clock.now() } as StoredEvent]);
  return { db, clock, registry, setStatus, applied };
}

describe('SubjectStatusRegistry', () => {
  it('an erasure applied by this instance’s projections refuses the subject at once, remembered "active" or not', () => {
    const { registry, setStatus, applied } = setup();
    expect(registry.isActive(A)).toBe(true);
    expect(registry.isActive(A)).toBe(true); // remembered
    setStatus(A, 'erasing');
    applied('SubjectErasureStarted', A);
    expect(registry.isActive(A)).toBe(false);
    expect(registry.isActive(B)).toBe(true);
    setStatus(B, 'erased');
    applied('SubjectErased', B);
    expect(registry.isActive(B)).toBe(false);
  });

  it('an erasure started here closes the subject before its events are even projected', () => {
    const { registry } = setup();
    expect(registry.isActive(A)).toBe(true);
    registry.close(A);
    expect(registry.isActive(A)).toBe(false);
  });

  it('a status changed in the read model by another process (no event heard here) is seen within ACTIVE_SUBJECT_TTL_MS', () => {
    const { registry, setStatus, clock } = setup();
    expect(registry.isActive(A)).toBe(true);
    setStatus(A, 'erased');
    clock.advance(ACTIVE_SUBJECT_TTL_MS - 1);
    expect(registry.isActive(A)).toBe(true);
    clock.advance(1);
    expect(registry.isActive(A)).toBe(false);
    // A clock stepping back does not extend a remembered answer either.
    expect(registry.isActive(B)).toBe(true);
    setStatus(B, 'erasing');
    clock.advance(-60_000);
    expect(registry.isActive(B)).toBe(false);
  });

  it('a subject the read model does not know yet (registered an instant ago) is active; a refused one is never remembered as active', () => {
    const { registry, setStatus, db } = setup();
    const C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
    expect(registry.isActive(C)).toBe(true);
    setStatus(A, 'erasing');
    expect(registry.isActive(A)).toBe(false);
    db.prepare("UPDATE subjects SET status = 'active' WHERE subject_id = ?").run(A);
    expect(registry.isActive(A)).toBe(true);
  });
});
