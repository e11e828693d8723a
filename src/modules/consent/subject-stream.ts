import type { AppendResult, Position } from '../event-store/event-store.port';
import type { LoadedStream } from '../event-store/event-log';
import type { ProjectionRunner } from '../../projections/projection-runner';

/** The position of the last event of a loaded stream, or null for an empty one. */
export function lastPositionOf(loaded: LoadedStream): Position | null {
  return loaded.events.length > 0 ? loaded.events[loaded.events.length - 1].position : null;
}

/**
 * Read-your-writes: waits until the read models show what the command appended, or (when it
 * appended nothing) the stream as the command saw it, which another instance may have written.
 */
export async function awaitReadModels(runner: ProjectionRunner, outcome: { appended?: AppendResult; last: Position | null }): Promise<void> {
  const position = outcome.appended?.position ?? outcome.last;
  if (position) await runner.waitFor(position);
}
