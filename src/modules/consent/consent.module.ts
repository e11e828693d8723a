import { Module } from '@nestjs/common';
import { ConsentGate } from './consent-gate.service';
import { GetConsentsController } from './get-consents/get-consents.controller';
import { ConsentLedgerReader } from './get-consents/consent-ledger.reader';
import { GrantConsentController } from './grant-consent/grant-consent.controller';
import { GrantConsentHandler } from './grant-consent/grant-consent.handler';
import { RestrictProcessingController } from './restrict-processing/restrict-processing.controller';
import { SetRestrictionHandler } from './restrict-processing/restrict-processing.handler';
import { WithdrawConsentController } from './withdraw-consent/withdraw-consent.controller';
import { WithdrawConsentHandler } from './withdraw-consent/withdraw-consent.handler';

/**
 * Consent and restriction per purpose, with policy version, in the subject's stream. Exports the
 * ConsentGate (upload and job start check it) and the ledger reader (export, history).
 */
@Module({
  controllers: [GetConsentsController, GrantConsentController, WithdrawConsentController, RestrictProcessingController],
  providers: [ConsentGate, ConsentLedgerReader, GrantConsentHandler, WithdrawConsentHandler, SetRestrictionHandler],
  exports: [ConsentGate, ConsentLedgerReader],
})
export class ConsentModule {}
