import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ConsentModule } from '../consent/consent.module';
import { FacialDataModule } from '../facial-data/facial-data.module';
import { IdentityModule } from '../identity/identity.module';
import { AuditRequestsController } from './audit-requests/audit-requests.controller';
import { CorrectionSaga } from './correct-job/correction.saga';
import { DpoDecideController } from './dpo-decide/dpo-decide.controller';
import { DpoDecideHandler } from './dpo-decide/dpo-decide.handler';
import { DpoListController } from './dpo-list/dpo-list.controller';
import { AccountEraser } from './erase-account/account-eraser.service';
import { EraseAccountController } from './erase-account/erase-account.controller';
import { EraseAccountHandler } from './erase-account/erase-account.handler';
import { SubjectDataReadModel } from './erase-account/subject-data.read-model';
import { ExportDataController } from './export-data/export-data.controller';
import { ExportDataHandler } from './export-data/export-data.handler';
import { RequestFulfilment } from './fulfilment/request-fulfilment.service';
import { GetRequestController } from './get-request/get-request.controller';
import { ListRequestsController } from './list-requests/list-requests.controller';
import { RightsScheduler } from './mark-overdue/rights-scheduler';
import { RequestsReadModel } from './requests/requests.read-model';
import { businessCalendarProvider } from './rights-calendar.provider';
import { SubmitRequestController } from './submit-request/submit-request.controller';
import { SubmitRequestHandler } from './submit-request/submit-request.handler';
import { DeletePurposeOriginalsHandler } from './withdrawal-cascade/delete-purpose-originals.handler';

/**
 * The data subject's rights: requests with business-day deadlines (and the overdue saga), the
 * DPO's queue and decisions, export, correction by re-processing, the withdrawal cascade, and
 * account erasure by crypto-shredding (with its crash recovery).
 */
@Module({
  imports: [IdentityModule, ConsentModule, FacialDataModule, AuditModule],
  controllers: [
    SubmitRequestController,
    ListRequestsController,
    GetRequestController,
    DpoListController,
    DpoDecideController,
    AuditRequestsController,
    ExportDataController,
    EraseAccountController,
  ],
  providers: [
    businessCalendarProvider,
    RequestsReadModel,
    SubjectDataReadModel,
    RequestFulfilment,
    SubmitRequestHandler,
    DpoDecideHandler,
    ExportDataHandler,
    AccountEraser,
    EraseAccountHandler,
    DeletePurposeOriginalsHandler,
    CorrectionSaga,
    RightsScheduler,
  ],
  exports: [AccountEraser, RightsScheduler, RequestsReadModel],
})
export class SubjectRightsModule {}
