import { Inject, Injectable } from '@nestjs/common';
import type { Statement } from 'better-sqlite3';
import { PURPOSES, type Purpose } from '../../../events/purposes';
import { ReadModels } from '../../../projections/read-models';
import { AppConfig } from '../../config/app-config';

/** One purpose's consent as the API shows it. */
export interface ConsentView {
  readonly purpose: Purpose;
  /** True only when the consent counts now: given under the current policy version and not withdrawn. */
  readonly granted: boolean;
  /** The policy version it was given under (null if never given). */
  readonly policyVersion: string | null;
  /** When it last changed (null if never). */
  readonly at: string | null;
  /** Whether the subject restricted processing for this purpose. */
  readonly restricted: boolean;
}

interface LedgerRow {
  purpose: string;
  granted: number;
  policy_version: string | null;
  at: string;
}

/** Reads the consent-ledger read model (src/projections/consent-ledger.projection.ts). */
@Injectable()
export class ConsentLedgerReader {
  private prepared: { consents: Statement; restricted: Statement } | null = null;

  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  get currentPolicyVersion(): string {
    return this.config.policyVersion;
  }

  /** All six purposes, in the catalogue's order. */
  consentsOf(subjectId: string): ConsentView[] {
    const q = this.statements();
    const rows = new Map((q.consents.all(subjectId) as LedgerRow[]).map((row) => [row.purpose, row]));
    const restricted = new Set(q.restricted.all(subjectId) as string[]);
    return PURPOSES.map((purpose) => this.view(purpose, rows.get(purpose), restricted.has(purpose)));
  }

  consentOf(subjectId: string, purpose: Purpose): ConsentView {
    const found = this.consentsOf(subjectId).find((c) => c.purpose === purpose);
    if (!found) throw new Error(`unknown purpose ${purpose}`);
    return found;
  }

  isRestricted(subjectId: string, purpose: Purpose): boolean {
    return (this.statements().restricted.all(subjectId) as string[]).includes(purpose);
  }

  private view(purpose: Purpose, row: LedgerRow | undefined, restricted: boolean): ConsentView {
    if (!row) return { purpose, granted: false, policyVersion: null, at: null, restricted };
    return {
      purpose,
      granted: row.granted === 1 && row.policy_version === this.config.policyVersion,
      policyVersion: row.policy_version,
      at: row.at,
      restricted,
    };
  }

  /** Prepared on first use: the projection runner creates the tables at start-up. */
  private statements(): { consents: Statement; restricted: Statement } {
    if (!this.prepared) {
      const db = this.readModels.db;
      this.prepared = {
        consents: db.prepare('SELECT purpose, granted, policy_version, at FROM consent_ledger WHERE subject_id = ?'),
        restricted: db.prepare('SELECT purpose FROM consent_restrictions WHERE subject_id = ? AND restricted = 1').pluck(),
      };
    }
    return this.prepared;
  }
}
