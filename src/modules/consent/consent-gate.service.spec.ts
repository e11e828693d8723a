import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '../../common/errors/domain-error';
import type { DomainEvent } from '../../events';
import { streams } from '../../events/streams';
import { ManualClock } from '../clock/clock.port';
import { loadConfig } from '../config/app-config';
import { masterKeyFromBytes } from '../crypto/master-key';
import { SqliteKeyStore } from '../crypto/sqlite/sqlite-key-store';
import { SubjectCipher } from '../crypto/subject-cipher';
import { EventLog, type CommandContext } from '../event-store/event-log';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { ConsentGate } from './consent-gate.service';

const V1 = '2025-06-24';
const context: CommandContext = { actor: 'system:test', correlationId: 'test', causationId: null };

describe('ConsentGate (from the event history of subject-<id>)', () => {
  let dir: string;
  let store: SqliteEventStore;
  let keys: SqliteKeyStore;
  let log: EventLog;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-consent-gate-'));
    const clock = new ManualClock('2026-03-02T02:00:00.000Z');
    store = new SqliteEventStore({ file: join(dir, 'events.db'), clock });
    keys = new SqliteKeyStore({ masterKey: masterKeyFromBytes(randomBytes(32)), dataDir: dir, clock });
    log = new EventLog(store, new SubjectCipher(keys), clock);
  });

  afterEach(async () => {
    await store.close();
    await keys.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const gate = (policyVersion = V1) => new ConsentGate(log, loadConfig({ DATA_DIR: dir, POLICY_VERSION: policyVersion }));

  async function subjectWith(...events: ((subjectId: string) => DomainEvent[])[]): Promise<string> {
    const subjectId = randomUUID();
    const all: DomainEvent[] = [
      { type: 'SubjectRegistered', data: { subjectId, deviceId: 'device-gate', ageBasis: 'adult', policyVersion: V1 } },
      { type: 'AdultConfirmed', data: { subjectId } },
      ...events.flatMap((make) => make(subjectId)),
    ];
    await log.append(streams.subject(subjectId), all, 'no_stream', context);
    return subjectId;
  }
  const grant = (version = V1) => (subjectId: string): DomainEvent[] => [{ type: 'ConsentGranted', data: { subjectId, purpose: 'photo-restore', policyVersion: version } }];

  async function refusal(promise: Promise<unknown>): Promise<DomainError> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof DomainError) return error;
      throw error;
    }
    throw new Error('expected a refusal');
  }

  it('allows a purpose consented to under the current version and returns the folded state', async () => {
    const subjectId = await subjectWith(grant());
    const state = await gate().assertProcessingAllowed(subjectId, 'photo-restore');
    expect(state).toMatchObject({ subjectId, status: 'active' });
    expect(await gate().verdict(subjectId, 'photo-restore')).toEqual({ allowed: true });
  });

  it('refuses a purpose without consent: 422 CONSENT_REQUIRED naming the current policy version', async () => {
    const subjectId = await subjectWith(grant());
    const error = await refusal(gate().assertProcessingAllowed(subjectId, 'time-painting'));
    expect(error).toMatchObject({ status: 422, code: 'CONSENT_REQUIRED', extra: { currentPolicyVersion: V1, purpose: 'time-painting' } });
    expect(error.message).toContain(V1);
  });

  it('after a policy update, a consent under the old version no longer counts', async () => {
    const subjectId = await subjectWith(grant(V1));
    const error = await refusal(gate('2026-01-01').assertProcessingAllowed(subjectId, 'photo-restore'));
    expect(error).toMatchObject({ status: 422, code: 'CONSENT_REQUIRED', extra: { currentPolicyVersion: '2026-01-01' } });
    expect(error.message).toContain('2026-01-01');
  });

  it('refuses a restricted purpose with 422 PURPOSE_RESTRICTED', async () => {
    const subjectId = await subjectWith(grant(), (id) => [{ type: 'ProcessingRestricted', data: { subjectId: id, purpose: 'photo-restore', requestId: null } }]);
    expect(await refusal(gate().assertProcessingAllowed(subjectId, 'photo-restore'))).toMatchObject({ status: 422, code: 'PURPOSE_RESTRICTED' });
  });

  it('refuses with 401 an unknown subject or one being erased', async () => {
    expect(await refusal(gate().assertProcessingAllowed(randomUUID(), 'photo-restore'))).toMatchObject({ status: 401 });
    const subjectId = await subjectWith(grant(), (id) => [{ type: 'SubjectErasureStarted', data: { subjectId: id, receiptId: randomUUID() } }]);
    expect(await refusal(gate().assertProcessingAllowed(subjectId, 'photo-restore'))).toMatchObject({ status: 401 });
    expect(await gate().verdict(subjectId, 'photo-restore')).toMatchObject({ allowed: false, code: 'SUBJECT_NOT_ACTIVE' });
  });
});
