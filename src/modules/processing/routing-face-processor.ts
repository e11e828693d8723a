import type { Purpose } from '../../events/purposes';
import { FaceProcessor, type ProcessingInput, type ProcessingOutput, type ProcessorIdentity } from './face-processor.port';

/** The purposes only an AI model can honestly perform. */
export const DEFAULT_REMOTE_PURPOSES: readonly Purpose[] = ['ai-edit', 'time-painting'];

export interface RoutingFaceProcessorOptions {
  readonly local: FaceProcessor;
  /** The studio's AI servers; when absent every purpose stays local (and the local one may refuse). */
  readonly remote?: FaceProcessor;
  /** Purposes sent to `remote` when it is configured (default ai-edit, time-painting). */
  readonly remotePurposes?: readonly Purpose[];
}

/**
 * Sends each purpose to one processor: the purposes in `remotePurposes` to the remote adapter when
 * one is configured, everything else to the local one. `identityFor` and `supports` answer for the
 * processor the purpose is routed to, so the disclosure record names the real recipient.
 */
export class RoutingFaceProcessor extends FaceProcessor {
  private readonly local: FaceProcessor;
  private readonly remote: FaceProcessor | undefined;
  private readonly remotePurposes: ReadonlySet<Purpose>;

  constructor(options: RoutingFaceProcessorOptions) {
    super();
    this.local = options.local;
    this.remote = options.remote;
    this.remotePurposes = new Set(options.remotePurposes ?? DEFAULT_REMOTE_PURPOSES);
  }

  /** The processor that handles `purpose`. */
  route(purpose: Purpose): FaceProcessor {
    return this.remote && this.remotePurposes.has(purpose) ? this.remote : this.local;
  }

  identityFor(purpose: Purpose): ProcessorIdentity {
    return this.route(purpose).identityFor(purpose);
  }

  supports(purpose: Purpose): boolean {
    return this.route(purpose).supports(purpose);
  }

  process(input: ProcessingInput): Promise<ProcessingOutput> {
    return this.route(input.purpose).process(input);
  }
}
