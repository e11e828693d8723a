import type { VerificationCheck, VerificationCheckRun, VerificationContext } from '../../../projections/verification/verification-check';
import type { RetentionDurations } from '../retention-rules';
import { RetentionDeadlineReplay } from './retention-deadlines';

/**
 * The retention part of a verification (POST /v1/audit/verifications): the replay hands every
 * event of the log to RetentionDeadlineReplay, which re-derives each deadline on its own; the
 * violations (deleted late, overdue now) are listed in `retentionViolations`.
 */
export class RetentionDeadlinesCheck implements VerificationCheck {
  readonly name = 'retention-deadlines';

  constructor(private readonly durations: RetentionDurations) {}

  start(context: VerificationContext): VerificationCheckRun {
    const replay = new RetentionDeadlineReplay();
    return {
      onEvents: (events) => {
        for (const event of events) replay.add(event);
      },
      finish: () => replay.violations(context.now, this.durations),
    };
  }
}
