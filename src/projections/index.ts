import type { Projection } from './projection';
import { subjectsProjection } from './subjects.projection';

/** Every read model of the service, in the order the runner applies them. */
export const ALL_PROJECTIONS: readonly Projection[] = [subjectsProjection];
