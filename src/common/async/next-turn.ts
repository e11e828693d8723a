/**
 * Resolves on the next turn of the event loop (after pending I/O callbacks): long synchronous
 * work split into chunks awaits it between them, so requests are served meanwhile.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
