import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/events';
import { syntheticEvents } from '../support/synthetic-log';

describe('synthetic log (benchmark and crash-test data)', () => {
  it('holds every catalogue event type, valid per its schema, across the requested subjects, with per-stream revisions', () => {
    const seen = new Set<string>();
    const subjects = new Set<string>();
    const revisions = new Map<string, number>();
    let count = 0;
    let lastTime = '';
    const problems: string[] = [];
    for (const event of syntheticEvents({ events: 40_000, subjects: 1_500, validate: true, seed: 7 })) {
      count++;
      seen.add(event.type);
      if (typeof event.metadata.subjectId === 'string') subjects.add(event.metadata.subjectId);
      if (event.revision !== (revisions.get(event.stream) ?? -1) + 1) problems.push(`revision of ${event.stream}`);
      revisions.set(event.stream, event.revision);
      if (String(event.metadata.occurredAt) < lastTime) problems.push('time went backwards');
      lastTime = String(event.metadata.occurredAt);
    }
    expect(problems).toEqual([]);
    expect(count).toBe(40_000);
    expect(subjects.size).toBe(1_500);
    expect([...EVENT_TYPES].filter((t) => !seen.has(t))).toEqual([]);
  });

  it('replaces personal fields by ciphertext-looking values and is deterministic for a seed', () => {
    const a = [...syntheticEvents({ events: 2_000, subjects: 100, seed: 3 })];
    const b = [...syntheticEvents({ events: 2_000, subjects: 100, seed: 3 })];
    expect(a).toEqual(b);
    const upload = a.find((e) => e.type === 'ImageUploaded');
    expect(upload?.data.faces).toEqual({ $pii: expect.stringMatching(/^v1\.[A-Za-z0-9_-]+$/) });
  });
});
