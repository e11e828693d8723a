import { orientationSwapsAxes } from './exif-orientation';
import { looksLikeHeic, parseHeifHeader } from './heif-header';
import { ImageInputError } from './image-input.error';
import { parseJpegHeader, type ContainerHeader, type DimensionCheck } from './jpeg-header';
import { PNG_SIGNATURE, parsePngHeader } from './png-header';

export const SUPPORTED_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/heic'] as const;
export type SupportedImageType = (typeof SUPPORTED_IMAGE_TYPES)[number];

export const DEFAULT_MAX_SIDE = 20_000;

export interface InspectOptions {
  /** Largest accepted width × height (of the stored grid). */
  readonly maxPixels: number;
  /** Largest accepted width or height; default 20,000. */
  readonly maxSide?: number;
}

export interface ImageInspection {
  readonly contentType: SupportedImageType;
  /**
   * The size as displayed, i.e. after the orientation decoders apply (EXIF orientation for
   * JPEG/PNG, `irot` for HEIC). Face boxes and edit regions are in this coordinate system,
   * which is also what `sharp(...).autoOrient()` produces.
   */
  readonly width: number;
  readonly height: number;
  /** The size of the stored pixel grid, before orientation. */
  readonly codedWidth: number;
  readonly codedHeight: number;
}

export function isSupportedImageType(value: string): value is SupportedImageType {
  return (SUPPORTED_IMAGE_TYPES as readonly string[]).includes(value);
}

/** What the bytes really are, by signature alone. */
export function sniffImageType(bytes: Buffer): SupportedImageType | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= PNG_SIGNATURE.length && bytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) return 'image/png';
  if (looksLikeHeic(bytes)) return 'image/heic';
  return undefined;
}

/**
 * Checks an uploaded image without decoding any pixels: the declared type must be supported,
 * the bytes must carry that type's signature, the container must be structurally sound and
 * complete, and the size must be within limits (which refuses decompression bombs up front).
 *
 * Refusals are ImageInputError: UNSUPPORTED_CONTENT_TYPE, CONTENT_TYPE_MISMATCH,
 * IMAGE_UNREADABLE, IMAGE_DIMENSIONS_REFUSED.
 */
export function inspectImage(bytes: Buffer, declaredContentType: string, options: InspectOptions): ImageInspection {
  const maxSide = options.maxSide ?? DEFAULT_MAX_SIDE;
  if (!(options.maxPixels > 0) || !(maxSide > 0)) throw new RangeError('maxPixels and maxSide must be positive');

  const declared = typeof declaredContentType === 'string' ? declaredContentType.trim().toLowerCase() : '';
  if (!isSupportedImageType(declared)) {
    throw new ImageInputError(
      'UNSUPPORTED_CONTENT_TYPE',
      `contentType must be one of ${SUPPORTED_IMAGE_TYPES.join(', ')}`,
    );
  }

  const actual = sniffImageType(bytes);
  if (actual !== declared) {
    throw new ImageInputError(
      'CONTENT_TYPE_MISMATCH',
      actual ? `the bytes are ${actual}, not the declared ${declared}` : `the bytes are not ${declared}`,
    );
  }

  const checkDimensions: DimensionCheck = (width, height) => {
    if (width < 1 || height < 1) {
      throw new ImageInputError('IMAGE_DIMENSIONS_REFUSED', 'the image declares a zero width or height');
    }
    if (width > maxSide || height > maxSide) {
      throw new ImageInputError('IMAGE_DIMENSIONS_REFUSED', `the image is ${width}×${height}; each side must be at most ${maxSide} pixels`);
    }
    if (width * height > options.maxPixels) {
      throw new ImageInputError(
        'IMAGE_DIMENSIONS_REFUSED',
        `the image is ${width}×${height}; at most ${options.maxPixels} pixels are accepted`,
      );
    }
  };

  let header: ContainerHeader;
  switch (declared) {
    case 'image/jpeg':
      header = parseJpegHeader(bytes, checkDimensions);
      break;
    case 'image/png':
      header = parsePngHeader(bytes, checkDimensions);
      break;
    case 'image/heic':
      header = parseHeifHeader(bytes, checkDimensions);
      break;
  }

  const swap = orientationSwapsAxes(header.orientation);
  return {
    contentType: declared,
    width: swap ? header.codedHeight : header.codedWidth,
    height: swap ? header.codedWidth : header.codedHeight,
    codedWidth: header.codedWidth,
    codedHeight: header.codedHeight,
  };
}
