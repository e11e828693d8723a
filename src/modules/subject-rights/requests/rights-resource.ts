import { badRequest, unprocessable } from '../../../common/errors/domain-error';
import { isPurpose, PURPOSES, type Purpose } from '../../../events/purposes';

/** What a rights request is about: one of the subject's originals, artworks or jobs, or a purpose. */
export type RightsResource =
  | { readonly kind: 'image'; readonly id: string }
  | { readonly kind: 'artwork'; readonly id: string }
  | { readonly kind: 'job'; readonly id: string }
  | { readonly kind: 'purpose'; readonly purpose: Purpose };

export type RightsResourceKind = RightsResource['kind'];

/** `image:<uuid>`, `artwork:<uuid>`, `job:<uuid>` or `purpose:<purpose>` (the purpose is checked separately: 422). */
export const RESOURCE_PATTERN = /^(?:(?:image|artwork|job):[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|purpose:[a-z0-9-]{1,64})$/;

/**
 * Parses a resource reference: 400 INVALID_RESOURCE when malformed, 422 PURPOSE_NOT_ALLOWED for a
 * purpose that is not one of the six. Ids are lower-cased (the form they have in stream names).
 */
export function parseResource(value: string): RightsResource {
  if (!RESOURCE_PATTERN.test(value)) {
    throw badRequest('INVALID_RESOURCE', 'resource must be image:<uuid>, artwork:<uuid>, job:<uuid> or purpose:<purpose>');
  }
  const colon = value.indexOf(':');
  const kind = value.slice(0, colon);
  const rest = value.slice(colon + 1);
  switch (kind) {
    case 'image':
    case 'artwork':
    case 'job':
      return { kind, id: rest.toLowerCase() };
    default:
      if (!isPurpose(rest)) throw unprocessable('PURPOSE_NOT_ALLOWED', `The purpose must be one of ${PURPOSES.join(', ')}`);
      return { kind: 'purpose', purpose: rest };
  }
}

export function formatResource(resource: RightsResource): string {
  return resource.kind === 'purpose' ? `purpose:${resource.purpose}` : `${resource.kind}:${resource.id}`;
}
