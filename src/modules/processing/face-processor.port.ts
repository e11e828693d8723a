import type { Purpose } from '../../events/purposes';

export interface FaceBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface ProcessingInput {
  readonly jobId: string;
  readonly purpose: Purpose;
  /** The decrypted original. Never logged. */
  readonly image: Buffer;
  readonly contentType: string;
  readonly faces: readonly FaceBox[];
  /** Purpose-specific options from the job request (validated by the adapter). */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface ProcessingIntermediate {
  /** Short file-like name, e.g. `normalised.png`; becomes a temp object under `tmp/`. */
  readonly name: string;
  readonly bytes: Buffer;
}

export interface ProcessingOutput {
  /** The artwork, when the purpose produces one. */
  readonly artwork?: { readonly bytes: Buffer; readonly contentType: string; readonly width: number; readonly height: number };
  /** Intermediate results the processor produced; the job stores them as temporary objects. */
  readonly intermediates: readonly ProcessingIntermediate[];
  /** Non-personal summary of what was done, e.g. `{ facesVerified: 2, facesRejected: 0 }`. */
  readonly summary: Readonly<Record<string, string | number | boolean>>;
}

/** Identifies the recipient of a disclosure: `local-sharp` or `ai-server:<host>`. */
export interface ProcessorIdentity {
  readonly name: string;
}

export abstract class FaceProcessor {
  /** Who receives the data, for the disclosure record of each hand-over. */
  abstract identityFor(purpose: Purpose): ProcessorIdentity;

  /** Whether this processor can honestly perform `purpose`. */
  abstract supports(purpose: Purpose): boolean;

  /** Throws ProcessingError with a stable code on failure. */
  abstract process(input: ProcessingInput): Promise<ProcessingOutput>;
}

export class ProcessingError extends Error {
  constructor(
    /** Stable upper-snake code: PROCESSOR_UNSUPPORTED, INVALID_OPTIONS, IMAGE_UNREADABLE, PROCESSOR_UNAVAILABLE, PROCESSOR_TIMEOUT, PROCESSOR_REJECTED. */
    readonly code: string,
    message: string,
    /** Whether retrying later may succeed. */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'ProcessingError';
  }
}
