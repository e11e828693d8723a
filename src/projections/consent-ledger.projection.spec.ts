import { describe, expect, it } from 'vitest';
import type { JsonObject, StoredEvent } from '../modules/event-store/event-store.port';
import { consentLedgerProjection } from './consent-ledger.projection';
import { openReadModelDatabase } from './read-model-database';

const S = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';

function feed(events: readonly { type: string; data: JsonObject; at: string }[]) {
  const db = openReadModelDatabase(':memory:');
  consentLedgerProjection.setup(db);
  events.forEach((e, i) => {
    const stored: StoredEvent = {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      stream: `subject-${String(e.data.subjectId)}`,
      revision: BigInt(i),
      position: { commit: BigInt(i + 1), prepare: BigInt(i + 1) },
      type: e.type,
      data: e.data,
      metadata: { occurredAt: e.at },
      created: new Date(e.at),
    };
    consentLedgerProjection.apply(db, stored);
  });
  return {
    consents: db.prepare('SELECT subject_id, purpose, granted, policy_version, at FROM consent_ledger ORDER BY subject_id, purpose').all(),
    restrictions: db.prepare('SELECT subject_id, purpose, restricted, at FROM consent_restrictions ORDER BY subject_id, purpose').all(),
    close: () => db.close(),
  };
}

describe('consent-ledger projection', () => {
  it('keeps per subject and purpose: granted, the version given under, when it last changed', () => {
    const r = feed([
      { type: 'ConsentGranted', data: { subjectId: S, purpose: 'photo-restore', policyVersion: '2025-06-24' }, at: '2026-03-02T02:00:00.000Z' },
      { type: 'ConsentGranted', data: { subjectId: S, purpose: 'ai-edit', policyVersion: '2025-06-24' }, at: '2026-03-02T02:00:01.000Z' },
      { type: 'ConsentWithdrawn', data: { subjectId: S, purpose: 'ai-edit', policyVersion: '2025-06-24' }, at: '2026-03-02T02:00:02.000Z' },
      { type: 'ConsentGranted', data: { subjectId: S, purpose: 'photo-restore', policyVersion: '2026-01-01' }, at: '2026-03-02T02:00:03.000Z' },
      { type: 'ConsentGranted', data: { subjectId: OTHER, purpose: 'erase-pen', policyVersion: '2025-06-24' }, at: '2026-03-02T02:00:04.000Z' },
    ]);
    expect(r.consents).toEqual([
      { subject_id: S, purpose: 'ai-edit', granted: 0, policy_version: '2025-06-24', at: '2026-03-02T02:00:02.000Z' },
      { subject_id: S, purpose: 'photo-restore', granted: 1, policy_version: '2026-01-01', at: '2026-03-02T02:00:03.000Z' },
      { subject_id: OTHER, purpose: 'erase-pen', granted: 1, policy_version: '2025-06-24', at: '2026-03-02T02:00:04.000Z' },
    ]);
    r.close();
  });

  it('keeps restrictions, and removes an erased subject’s rows only', () => {
    const r = feed([
      { type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'erase-pen', requestId: null }, at: '2026-03-02T02:00:00.000Z' },
      { type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'ai-edit', requestId: null }, at: '2026-03-02T02:00:01.000Z' },
      { type: 'RestrictionLifted', data: { subjectId: S, purpose: 'ai-edit' }, at: '2026-03-02T02:00:02.000Z' },
      { type: 'ProcessingRestricted', data: { subjectId: OTHER, purpose: 'ai-edit', requestId: null }, at: '2026-03-02T02:00:03.000Z' },
    ]);
    expect(r.restrictions).toEqual([
      { subject_id: S, purpose: 'ai-edit', restricted: 0, at: '2026-03-02T02:00:02.000Z' },
      { subject_id: S, purpose: 'erase-pen', restricted: 1, at: '2026-03-02T02:00:00.000Z' },
      { subject_id: OTHER, purpose: 'ai-edit', restricted: 1, at: '2026-03-02T02:00:03.000Z' },
    ]);
    r.close();
    const erased = feed([
      { type: 'ConsentGranted', data: { subjectId: S, purpose: 'photo-restore', policyVersion: '2025-06-24' }, at: '2026-03-02T02:00:00.000Z' },
      { type: 'ProcessingRestricted', data: { subjectId: S, purpose: 'erase-pen', requestId: null }, at: '2026-03-02T02:00:01.000Z' },
      { type: 'ConsentGranted', data: { subjectId: OTHER, purpose: 'photo-restore', policyVersion: '2025-06-24' }, at: '2026-03-02T02:00:02.000Z' },
      { type: 'SubjectErased', data: { subjectId: S }, at: '2026-03-02T02:00:03.000Z' },
    ]);
    expect(erased.consents).toEqual([{ subject_id: OTHER, purpose: 'photo-restore', granted: 1, policy_version: '2025-06-24', at: '2026-03-02T02:00:02.000Z' }]);
    expect(erased.restrictions).toEqual([]);
    erased.close();
  });

  it('a withdrawal with no earlier grant row still records the change', () => {
    const r = feed([{ type: 'ConsentWithdrawn', data: { subjectId: S, purpose: 'ai-edit', policyVersion: null }, at: '2026-03-02T02:00:00.000Z' }]);
    expect(r.consents).toEqual([{ subject_id: S, purpose: 'ai-edit', granted: 0, policy_version: null, at: '2026-03-02T02:00:00.000Z' }]);
    r.close();
  });
});
