import { Command } from '@nestjs/cqrs';
import type { StaffPrincipal } from '../../../common/auth/principal';
import type { VerificationOutcome } from './verify-projections.decider';

/** Replay the whole log into fresh projections, compare with the live ones, record the result. */
export class VerifyProjections extends Command<VerificationOutcome> {
  constructor(
    readonly auditor: StaffPrincipal,
    readonly requestId: string,
  ) {
    super();
  }
}
