import { Injectable } from '@nestjs/common';
import type { VerificationCheck } from '../../../projections/verification/verification-check';

/**
 * The independent checks a verification runs next to the projection comparison. Other contexts
 * plug theirs in (the retention context registers its deadline re-derivation in its module's
 * onModuleInit: `checks.register(check)`); their violations fill `retentionViolations`.
 */
@Injectable()
export class VerificationChecks {
  private readonly checks: VerificationCheck[] = [];

  register(check: VerificationCheck): void {
    if (this.checks.some((c) => c.name === check.name)) throw new Error(`A verification check named ${check.name} is already registered`);
    this.checks.push(check);
  }

  all(): readonly VerificationCheck[] {
    return [...this.checks];
  }
}
