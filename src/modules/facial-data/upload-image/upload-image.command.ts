import { Command } from '@nestjs/cqrs';
import type { Base64Text } from '../../../common/http/base64-text';
import type { Purpose } from '../../../events/purposes';
import type { CommandContext } from '../../event-store/event-log';
import type { FaceBox } from '../../processing/face-processor.port';

export interface UploadImageResult {
  readonly imageId: string;
  readonly status: 'stored';
  readonly uploadedAt: string;
  /** True when an Idempotency-Key replay answered the first response and nothing was written. */
  readonly replayed: boolean;
}

/**
 * Stores an original: checks consent, the bytes, their type and the face boxes, writes the
 * object encrypted under `originals/`, then appends `ImageUploaded` (and `FaceDetectionLogged`
 * to the operation log). With an Idempotency-Key the image id derives from the key.
 */
export class UploadImageCommand extends Command<UploadImageResult> {
  constructor(
    readonly subjectId: string,
    readonly upload: {
      /** A string, or the bytes of a large body's Base64 as the body parser cut them out. */
      readonly imageBase64: string | Base64Text;
      readonly contentType: string;
      readonly purpose: Purpose;
      readonly faces: readonly FaceBox[];
    },
    readonly context: CommandContext,
  ) {
    super();
  }
}
