import type { Purpose } from '../../../events/purposes';
import { ProcessingError } from '../face-processor.port';
import type { PixelRegion } from './region-fill';

export const MAX_ERASE_REGIONS = 32;
/** Erase pen removes marks; it may not replace more than this share of the picture. */
export const MAX_ERASE_COVERAGE = 0.5;

export type LocalPurposeOptions =
  | { readonly purpose: 'photo-enlarge' }
  | { readonly purpose: 'photo-restore' }
  | { readonly purpose: 'face-detection-verification' }
  | { readonly purpose: 'erase-pen'; readonly regions: readonly PixelRegion[] };

function invalid(message: string): ProcessingError {
  return new ProcessingError('INVALID_OPTIONS', message);
}

function plainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    // Key names only: they come from the client and carry no image content.
    throw invalid(`${where}: unknown option ${unknown.map((key) => JSON.stringify(key.slice(0, 40))).join(', ')}`);
  }
}

/**
 * Checks a job's options for the purposes the local processor performs. Shape only: regions are
 * checked against the image once it has been decoded (`checkRegionsInside`).
 *
 * - photo-enlarge, photo-restore, face-detection-verification: no options.
 * - erase-pen: `{ regions: [{ x, y, width, height }] }`, 1–32 regions of integer pixels.
 */
export function parseLocalOptions(purpose: Purpose, options: unknown): LocalPurposeOptions {
  const value = options ?? {};
  if (!plainObject(value)) throw invalid('options must be a JSON object');
  switch (purpose) {
    case 'photo-enlarge':
    case 'photo-restore':
    case 'face-detection-verification':
      onlyKeys(value, [], purpose);
      return { purpose };
    case 'erase-pen': {
      onlyKeys(value, ['regions'], purpose);
      const regions = value.regions;
      if (!Array.isArray(regions) || regions.length < 1 || regions.length > MAX_ERASE_REGIONS) {
        throw invalid(`erase-pen needs options.regions with 1 to ${MAX_ERASE_REGIONS} regions`);
      }
      return { purpose, regions: regions.map((region: unknown, index) => parseRegion(region, index)) };
    }
    default:
      throw new ProcessingError('PROCESSOR_UNSUPPORTED', `the local processor does not perform ${purpose}`);
  }
}

function parseRegion(region: unknown, index: number): PixelRegion {
  if (!plainObject(region)) throw invalid(`regions[${index}] must be an object`);
  onlyKeys(region, ['x', 'y', 'width', 'height'], `regions[${index}]`);
  const { x, y, width, height } = region;
  if (!Number.isSafeInteger(x) || !Number.isSafeInteger(y) || !Number.isSafeInteger(width) || !Number.isSafeInteger(height)) {
    throw invalid(`regions[${index}] needs integer x, y, width and height`);
  }
  const box = { x: x as number, y: y as number, width: width as number, height: height as number };
  if (box.x < 0 || box.y < 0 || box.width < 1 || box.height < 1) {
    throw invalid(`regions[${index}] needs x, y ≥ 0 and width, height ≥ 1`);
  }
  return box;
}

/** Regions must lie inside the (orientation-normalised) image and cover at most half of it. */
export function checkRegionsInside(regions: readonly PixelRegion[], width: number, height: number): void {
  let area = 0;
  regions.forEach((region, index) => {
    if (region.x + region.width > width || region.y + region.height > height) {
      throw invalid(`regions[${index}] extends beyond the ${width}×${height} image`);
    }
    area += region.width * region.height;
  });
  if (area > MAX_ERASE_COVERAGE * width * height) {
    throw invalid(`the regions cover more than ${MAX_ERASE_COVERAGE * 100}% of the image; there is too little left to fill from`);
  }
}
