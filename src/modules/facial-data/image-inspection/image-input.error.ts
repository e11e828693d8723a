/**
 * Stable codes for refused image uploads. The HTTP layer maps `status` straight onto the
 * problem response; `code` is the problem's `code`.
 */
export const IMAGE_INPUT_ERROR_STATUS = {
  INVALID_BASE64: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_CONTENT_TYPE: 422,
  CONTENT_TYPE_MISMATCH: 422,
  IMAGE_UNREADABLE: 422,
  IMAGE_DIMENSIONS_REFUSED: 422,
  FACE_BOX_OUT_OF_BOUNDS: 422,
  TOO_MANY_FACES: 422,
  BIOMETRIC_TEMPLATE_REJECTED: 422,
} as const;

export type ImageInputErrorCode = keyof typeof IMAGE_INPUT_ERROR_STATUS;

/**
 * A refused image upload. The message describes the rule that was broken and never contains
 * image content (no bytes, no base64, no face geometry).
 */
export class ImageInputError extends Error {
  readonly status: number;

  constructor(
    readonly code: ImageInputErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageInputError';
    this.status = IMAGE_INPUT_ERROR_STATUS[code];
  }
}

export function isImageInputError(value: unknown): value is ImageInputError {
  return value instanceof ImageInputError;
}
