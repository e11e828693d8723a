import { assertValidObjectKey, InvalidObjectKeyError } from './object-storage.port';

/**
 * A listing prefix: '' (everything), a whole-segment prefix ending in '/' (`originals/<subjectId>/`),
 * or a key-shaped string whose last segment may be partial (`originals/ab`). The same character
 * rules as keys apply, so a prefix can never name anything outside the storage.
 */
export function assertValidObjectKeyPrefix(prefix: string): void {
  if (prefix === '') return;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  try {
    assertValidObjectKey(body);
  } catch {
    throw new InvalidObjectKeyError(prefix);
  }
}
