import type { Projection } from './projection';
import { subjectsProjection } from './subjects.projection';
import { consentLedgerProjection } from './consent-ledger.projection';
import { historyProjection } from './history.projection';
import { accessLogProjection } from './access-log.projection';
import { imagesProjection } from './images.projection';
import { artworksProjection } from './artworks.projection';
import { jobsProjection } from './jobs.projection';
import { retentionLedgerProjection } from './retention-ledger.projection';
import { requestsProjection } from './requests.projection';

/** Every read model of the service, in the order the runner applies them. */
export const ALL_PROJECTIONS: readonly Projection[] = [subjectsProjection, consentLedgerProjection, historyProjection, accessLogProjection, imagesProjection, artworksProjection, jobsProjection, requestsProjection, retentionLedgerProjection];
