import { Inject, Injectable } from '@nestjs/common';
import { DomainError, unauthorized, unprocessable } from '../../common/errors/domain-error';
import { streams } from '../../events/streams';
import type { Purpose } from '../../events/purposes';
import { AppConfig } from '../config/app-config';
import { EventLog } from '../event-store/event-log';
import { foldSubject, processingVerdict, type ConsentVerdict, type SubjectState } from './subject.state';

/** The DomainError a refused verdict becomes at the HTTP edge. */
export function verdictError(verdict: Extract<ConsentVerdict, { allowed: false }>, purpose: Purpose, currentPolicyVersion: string): DomainError {
  switch (verdict.code) {
    case 'CONSENT_REQUIRED':
      return unprocessable('CONSENT_REQUIRED', verdict.reason, { purpose, currentPolicyVersion });
    case 'PURPOSE_RESTRICTED':
      return unprocessable('PURPOSE_RESTRICTED', verdict.reason, { purpose });
    case 'SUBJECT_NOT_ACTIVE':
      return unauthorized('The token is invalid or expired');
  }
}

/**
 * "May this subject's facial data be processed for this purpose now?", decided from the event
 * history of `subject-<id>` (never from a read model, which may lag): an active account, a
 * consent given under the current POLICY_VERSION and not withdrawn, no restriction. Used at
 * upload and again at the moment a job starts.
 */
@Injectable()
export class ConsentGate {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  get currentPolicyVersion(): string {
    return this.config.policyVersion;
  }

  /** The subject's folded state, straight from its stream. */
  async subjectState(subjectId: string): Promise<SubjectState> {
    const loaded = await this.log.load(streams.subject(subjectId));
    return foldSubject(loaded.events);
  }

  /** The verdict without throwing (for sagas and job runners that record a refusal instead). */
  async verdict(subjectId: string, purpose: Purpose): Promise<ConsentVerdict> {
    return processingVerdict(await this.subjectState(subjectId), purpose, this.config.policyVersion);
  }

  /**
   * Throws 422 CONSENT_REQUIRED (detail and `currentPolicyVersion` name the version to consent
   * to), 422 PURPOSE_RESTRICTED, or 401 for an account that is erased, being erased or unknown.
   * Returns the folded state when processing is allowed.
   */
  async assertProcessingAllowed(subjectId: string, purpose: Purpose): Promise<SubjectState> {
    const state = await this.subjectState(subjectId);
    this.assertAllowedIn(state, purpose);
    return state;
  }

  /** The same check on a state the caller has already folded. */
  assertAllowedIn(state: SubjectState, purpose: Purpose): void {
    const verdict = processingVerdict(state, purpose, this.config.policyVersion);
    if (!verdict.allowed) throw verdictError(verdict, purpose, this.config.policyVersion);
  }
}
