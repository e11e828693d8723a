import { badRequest } from '../../../common/errors/domain-error';
import type { Position } from '../../event-store/event-store.port';

const POSITION = /^(\d{1,20}):(\d{1,20})$/;
const MAX = (1n << 64n) - 1n;

/** A log position as the audit API shows it: `"<commit>:<prepare>"` (the embedded store has commit = prepare). */
export function formatPosition(position: Position): string {
  return `${position.commit}:${position.prepare}`;
}

/** Parses `"<commit>:<prepare>"`; null when malformed or out of range. */
export function tryParsePosition(text: string): Position | null {
  const match = POSITION.exec(text);
  if (!match) return null;
  const commit = BigInt(match[1]);
  const prepare = BigInt(match[2]);
  if (commit > MAX || prepare > MAX) return null;
  return { commit, prepare };
}

/** Parses `"<commit>:<prepare>"`, or answers 400 INVALID_POSITION. */
export function parsePosition(text: string, name = 'fromPosition'): Position {
  const position = tryParsePosition(text);
  if (!position) throw badRequest('INVALID_POSITION', `${name} must be a log position "<commit>:<prepare>" as returned by this API`);
  return position;
}
