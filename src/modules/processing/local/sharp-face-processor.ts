import sharp, { type PngOptions, type Sharp } from 'sharp';
import type { Purpose } from '../../../events/purposes';
import { DEFAULT_MAX_SIDE, inspectImage, type SupportedImageType } from '../../facial-data/image-inspection/image-inspector';
import { ImageInputError } from '../../facial-data/image-inspection/image-input.error';
import {
  FaceProcessor,
  ProcessingError,
  type FaceBox,
  type ProcessingInput,
  type ProcessingIntermediate,
  type ProcessingOutput,
  type ProcessorIdentity,
} from '../face-processor.port';
import { BoundedConcurrency } from './bounded-concurrency';
import { checkRegionsInside, parseLocalOptions, type LocalPurposeOptions } from './purpose-options';
import { fillRegions, type PixelRegion, type RawImage } from './region-fill';

export const LOCAL_PROCESSOR_IDENTITY: ProcessorIdentity = Object.freeze({ name: 'local-sharp' });

/** The purposes sharp can honestly perform; ai-edit and time-painting need the studio's AI servers. */
export const LOCAL_PURPOSES: readonly Purpose[] = ['photo-enlarge', 'photo-restore', 'erase-pen', 'face-detection-verification'];

export interface SharpFaceProcessorOptions {
  /** Jobs processed at the same time (default 2). */
  readonly concurrency?: number;
  /** Jobs allowed to wait for a slot before new ones are refused as PROCESSOR_UNAVAILABLE (default 32). */
  readonly maxQueued?: number;
  /** Largest input, width × height; sharp's `limitInputPixels` (default 100,000,000). */
  readonly maxPixels?: number;
  /** Largest artwork photo-enlarge may produce, width × height (default 200,000,000). */
  readonly maxOutputPixels?: number;
  /** Verification: boxes narrower or lower than this many pixels are degenerate (default 8). */
  readonly minFaceSide?: number;
  /** Verification: boxes longer than this ratio on one side are degenerate (default 4). */
  readonly maxFaceAspectRatio?: number;
  /** Verification: minimum standard deviation of luminance (0–255) for a box not to be flat (default 8). */
  readonly minFaceLuminanceStdDev?: number;
}

type OutputFormat = 'jpeg' | 'png';

/** Intermediates are short-lived temp objects: fast PNG settings, size matters less than time. */
const FAST_PNG: PngOptions = { compressionLevel: 1, adaptiveFiltering: false };

/** A mild unsharp mask (identity + 0.25 × Laplacian); the weights sum to 1, so flat areas are unchanged. */
const MILD_SHARPEN = { width: 3, height: 3, kernel: [0, -0.25, 0, -0.25, 2, -0.25, 0, -0.25, 0] };

const OUTPUT_CONTENT_TYPE: Readonly<Record<OutputFormat, string>> = { jpeg: 'image/jpeg', png: 'image/png' };

/**
 * The embedded FaceProcessor: real image operations on sharp (libvips) for the purposes they can
 * honestly implement, no network. All coordinates (face boxes, erase regions) are in the displayed
 * image, i.e. after the EXIF / irot orientation is applied, which is also how the inspector
 * reports an upload's size.
 *
 * - photo-enlarge: 2× width and height, Lanczos-3; JPEG stays JPEG, PNG stays PNG, HEIC → PNG.
 * - photo-restore: median 3×3 denoise, normalise (contrast stretch), mild 3×3 sharpen; same size.
 * - erase-pen: `{ regions }` filled from their surroundings (normalized-convolution blur); same size.
 * - face-detection-verification: each box checked against the image (inside, not degenerate,
 *   textured rather than flat); a summary, no artwork.
 *
 * Every purpose returns the decoded, orientation-normalised PNG as the intermediate `normalised.png`
 * (photo-restore adds `denoised.png`, erase-pen `erase-mask.png`). Output carries no metadata (EXIF, GPS, XMP are dropped).
 */
export class SharpFaceProcessor extends FaceProcessor {
  private readonly limiter: BoundedConcurrency;
  private readonly maxPixels: number;
  private readonly maxOutputPixels: number;
  private readonly minFaceSide: number;
  private readonly maxFaceAspectRatio: number;
  private readonly minFaceLuminanceStdDev: number;

  constructor(options: SharpFaceProcessorOptions = {}) {
    super();
    sharp.cache(false); // no decoded pixels of anyone's photo kept in libvips' cache
    this.limiter = new BoundedConcurrency(options.concurrency ?? 2, options.maxQueued ?? 32);
    this.maxPixels = options.maxPixels ?? 100_000_000;
    this.maxOutputPixels = options.maxOutputPixels ?? 200_000_000;
    this.minFaceSide = options.minFaceSide ?? 8;
    this.maxFaceAspectRatio = options.maxFaceAspectRatio ?? 4;
    this.minFaceLuminanceStdDev = options.minFaceLuminanceStdDev ?? 8;
  }

  identityFor(_purpose: Purpose): ProcessorIdentity {
    return LOCAL_PROCESSOR_IDENTITY;
  }

  supports(purpose: Purpose): boolean {
    return LOCAL_PURPOSES.includes(purpose);
  }

  async process(input: ProcessingInput): Promise<ProcessingOutput> {
    if (!this.supports(input.purpose)) {
      throw new ProcessingError('PROCESSOR_UNSUPPORTED', `the local processor cannot honestly perform ${input.purpose}`);
    }
    const options = parseLocalOptions(input.purpose, input.options);
    const contentType = this.checkInput(input);
    return this.limiter.run(() => this.run(input, contentType, options));
  }

  /** Cheap header check before anything is decoded: the bytes must be the declared type, sound, within limits. */
  private checkInput(input: ProcessingInput): SupportedImageType {
    try {
      return inspectImage(input.image, input.contentType, { maxPixels: this.maxPixels, maxSide: DEFAULT_MAX_SIDE }).contentType;
    } catch (error) {
      if (error instanceof ImageInputError) throw new ProcessingError('IMAGE_UNREADABLE', error.message);
      throw error;
    }
  }

  private async run(input: ProcessingInput, contentType: SupportedImageType, options: LocalPurposeOptions): Promise<ProcessingOutput> {
    const decoded = await this.decode(input.image, contentType);
    const normalised = await encode(decoded, 'png', FAST_PNG);
    const intermediates: ProcessingIntermediate[] = [{ name: 'normalised.png', bytes: normalised.data }];
    const format: OutputFormat = contentType === 'image/jpeg' ? 'jpeg' : 'png';

    switch (options.purpose) {
      case 'photo-enlarge':
        return this.enlarge(decoded, format, intermediates);
      case 'photo-restore':
        return this.restore(decoded, format, intermediates);
      case 'erase-pen':
        return this.erase(decoded, format, options.regions, intermediates);
      case 'face-detection-verification':
        return { intermediates, summary: this.verifyFaces(decoded, input.faces) };
    }
  }

  private async decode(bytes: Buffer, contentType: SupportedImageType): Promise<RawImage> {
    try {
      const { data, info } = await sharp(bytes, { limitInputPixels: this.maxPixels, failOn: 'error' })
        .autoOrient()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height, channels: info.channels };
    } catch {
      // sharp's message may name internals; the code and a fixed text are enough.
      const detail = contentType === 'image/heic' ? 'this HEIC cannot be decoded locally (HEVC decoding is not available)' : 'the image cannot be decoded';
      throw new ProcessingError('IMAGE_UNREADABLE', detail);
    }
  }

  private async enlarge(image: RawImage, format: OutputFormat, intermediates: ProcessingIntermediate[]): Promise<ProcessingOutput> {
    const width = image.width * 2;
    const height = image.height * 2;
    if (width * height > this.maxOutputPixels) {
      throw new ProcessingError('PROCESSOR_REJECTED', `enlarging would produce more than ${this.maxOutputPixels} pixels`);
    }
    const artwork = await encode(image, format, {}, (pipeline) => pipeline.resize(width, height, { kernel: 'lanczos3', fit: 'fill' }));
    return {
      artwork: artworkOf(artwork, format),
      intermediates,
      summary: { operation: 'lanczos3-2x', inputWidth: image.width, inputHeight: image.height, outputWidth: artwork.width, outputHeight: artwork.height },
    };
  }

  private async restore(image: RawImage, format: OutputFormat, intermediates: ProcessingIntermediate[]): Promise<ProcessingOutput> {
    // Two stages: normalise() reads its input twice (histogram, then stretch), so the median is
    // materialised once instead of being recomputed for each pass.
    const denoised = await transformRaw(image, (pipeline) => pipeline.median(3));
    const artwork = await encode(denoised, format, {}, (pipeline) => pipeline.normalise().convolve(MILD_SHARPEN));
    return {
      artwork: artworkOf(artwork, format),
      intermediates: [...intermediates, { name: 'denoised.png', bytes: (await encode(denoised, 'png', FAST_PNG)).data }],
      summary: { operation: 'median3-normalise-sharpen', width: artwork.width, height: artwork.height },
    };
  }

  private async erase(
    image: RawImage,
    format: OutputFormat,
    regions: readonly PixelRegion[],
    intermediates: ProcessingIntermediate[],
  ): Promise<ProcessingOutput> {
    checkRegionsInside(regions, image.width, image.height);
    let filled: ReturnType<typeof fillRegions>;
    try {
      filled = fillRegions(image, regions);
    } catch (error) {
      if (error instanceof RangeError) throw new ProcessingError('INVALID_OPTIONS', 'a region has nothing around it to fill from');
      throw error;
    }
    const mask = await encode({ data: filled.mask, width: image.width, height: image.height, channels: 1 }, 'png', FAST_PNG);
    const artwork = await encode(filled.image, format);
    return {
      artwork: artworkOf(artwork, format),
      intermediates: [...intermediates, { name: 'erase-mask.png', bytes: mask.data }],
      summary: { operation: 'normalized-convolution-fill', regionsFilled: regions.length, pixelsFilled: filled.pixelsFilled },
    };
  }

  /**
   * Checks each reported box against the decoded image. A box is verified when it lies inside the
   * image, is at least `minFaceSide` on each side with an aspect ratio within `maxFaceAspectRatio`,
   * and its luminance varies (standard deviation ≥ `minFaceLuminanceStdDev`): a blank or flat area
   * cannot be a face. Only counts are returned; no geometry leaves this method.
   */
  private verifyFaces(image: RawImage, faces: readonly FaceBox[]): Record<string, number> {
    let outOfBounds = 0;
    let degenerate = 0;
    let flat = 0;
    for (const face of faces) {
      const { x, y, width, height } = face;
      const finite = [x, y, width, height].every((value) => typeof value === 'number' && Number.isFinite(value));
      if (!finite || x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > image.width || y + height > image.height) {
        outOfBounds++;
        continue;
      }
      const ratio = Math.max(width / height, height / width);
      if (width < this.minFaceSide || height < this.minFaceSide || ratio > this.maxFaceAspectRatio) {
        degenerate++;
        continue;
      }
      if (luminanceStdDev(image, face) < this.minFaceLuminanceStdDev) flat++;
    }
    const rejected = outOfBounds + degenerate + flat;
    return {
      facesReported: faces.length,
      facesVerified: faces.length - rejected,
      facesRejected: rejected,
      rejectedOutOfBounds: outOfBounds,
      rejectedDegenerate: degenerate,
      rejectedFlat: flat,
    };
  }
}

/** Standard deviation of Rec. 601 luminance over the box, sampled on a grid of at most ~512×512. */
export function luminanceStdDev(image: RawImage, box: FaceBox): number {
  const x0 = Math.floor(box.x);
  const y0 = Math.floor(box.y);
  const x1 = Math.min(image.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(image.height, Math.ceil(box.y + box.height));
  const step = Math.max(1, Math.floor(Math.max(x1 - x0, y1 - y0) / 512));
  const { data, channels } = image;
  let count = 0;
  let sum = 0;
  let squares = 0;
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const at = (y * image.width + x) * channels;
      const luma = channels >= 3 ? 0.299 * data[at] + 0.587 * data[at + 1] + 0.114 * data[at + 2] : data[at];
      sum += luma;
      squares += luma * luma;
      count++;
    }
  }
  if (count === 0) return 0;
  const mean = sum / count;
  return Math.sqrt(Math.max(0, squares / count - mean * mean));
}

async function transformRaw(image: RawImage, transform: (pipeline: Sharp) => Sharp): Promise<RawImage> {
  try {
    const { data, info } = await transform(rawInput(image)).raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch {
    throw new ProcessingError('IMAGE_UNREADABLE', 'the image could not be processed');
  }
}

function rawInput(image: RawImage): Sharp {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: rawChannels(image.channels) } });
}

interface Encoded {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

async function encode(
  image: RawImage,
  format: OutputFormat,
  pngOptions: PngOptions = {},
  transform: (pipeline: Sharp) => Sharp = (pipeline) => pipeline,
): Promise<Encoded> {
  try {
    let pipeline = transform(rawInput(image));
    pipeline = format === 'jpeg' ? pipeline.jpeg({ quality: 90 }) : pipeline.png({ compressionLevel: 6, ...pngOptions });
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (error) {
    if (error instanceof ProcessingError) throw error;
    throw new ProcessingError('IMAGE_UNREADABLE', 'the image could not be processed');
  }
}

function rawChannels(channels: number): 1 | 2 | 3 | 4 {
  if (channels === 1 || channels === 2 || channels === 3 || channels === 4) return channels;
  throw new ProcessingError('IMAGE_UNREADABLE', 'unsupported number of colour channels');
}

function artworkOf(encoded: Encoded, format: OutputFormat): NonNullable<ProcessingOutput['artwork']> {
  return { bytes: encoded.data, contentType: OUTPUT_CONTENT_TYPE[format], width: encoded.width, height: encoded.height };
}
