import { Module } from '@nestjs/common';
import { ConsentGate } from './consent-gate.service';

/** Consent and restriction per purpose, in the subject's stream; the gate other contexts use. */
@Module({
  providers: [ConsentGate],
  exports: [ConsentGate],
})
export class ConsentModule {}
