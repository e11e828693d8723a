import { ProcessingError } from '../face-processor.port';

/**
 * Runs at most `limit` tasks at once; further tasks wait in FIFO order. When `maxQueued` tasks are
 * already waiting, a new one is refused at once with a retryable PROCESSOR_UNAVAILABLE, so a burst
 * of jobs cannot pile up unbounded memory (each waiting task holds a decrypted image).
 */
export class BoundedConcurrency {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly limit: number,
    readonly maxQueued = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('concurrency limit must be a positive integer');
    if (!(maxQueued >= 0)) throw new RangeError('maxQueued must be non-negative');
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxQueued) {
        throw new ProcessingError('PROCESSOR_UNAVAILABLE', 'the local processor is busy; try again later', true);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // hand the slot over without releasing it
      else this.running--;
    }
  }
}
