import type { Actor } from '../../events/metadata';

export type StaffRole = 'auditor' | 'dpo';

export type Principal =
  | { readonly kind: 'subject'; readonly subjectId: string; readonly actor: Actor }
  | { readonly kind: 'staff'; readonly role: StaffRole; readonly name: string; readonly actor: Actor };

export type SubjectPrincipal = Extract<Principal, { kind: 'subject' }>;
export type StaffPrincipal = Extract<Principal, { kind: 'staff' }>;

/** Who may call a route: subjects, one of the staff roles, or anyone (no token). */
export type Audience = 'public' | 'subject' | StaffRole;
