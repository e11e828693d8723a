/** Interleaved 8-bit pixels as sharp's `raw()` produces them. */
export interface RawImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

export interface PixelRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Mask value of a pixel inside a region (255, so the mask is directly a greyscale image). */
export const MASKED = 255;

/** Longest side of the coarse grid a region's fill is computed on. */
const GRID_SIDE = 128;

/**
 * Fills each region from its surroundings only ("inpaint-like"): a normalized convolution, i.e.
 * a strong Gaussian blur of the known pixels divided by the blur of the known-pixel mask, so the
 * fill is a smooth, distance-weighted blend of what surrounds the region and never contains the
 * erased content. Pixels inside any region are unknown for every fill, so overlapping or adjacent
 * regions do not leak into each other.
 *
 * The blur radius follows the region (σ = half its longest side) and is computed on a coarse grid
 * of at most 128×128 cells over the region's neighbourhood, sampled with a stride, then
 * interpolated bilinearly back onto the region's pixels: the cost per region is bounded whatever
 * the image size. Pixels outside the regions are left exactly as they were.
 *
 * Returns a new image, the union mask (255 inside a region, 0 elsewhere) and the number of pixels
 * filled. Throws RangeError when the regions
 * leave no known pixel around one of them.
 */
export function fillRegions(
  image: RawImage,
  regions: readonly PixelRegion[],
): { image: RawImage; mask: Buffer; pixelsFilled: number } {
  const { width, height, channels } = image;
  const mask = Buffer.alloc(width * height);
  let masked = 0;
  for (const region of regions) {
    for (let y = region.y; y < region.y + region.height; y++) {
      const start = y * width + region.x;
      for (let at = start; at < start + region.width; at++) {
        if (mask[at] === 0) {
          mask[at] = MASKED;
          masked++;
        }
      }
    }
  }
  const output = Buffer.from(image.data);

  for (const region of regions) {
    const sigma = Math.max(2, 0.5 * Math.max(region.width, region.height));
    const margin = Math.ceil(2.5 * sigma);
    const x0 = Math.max(0, region.x - margin);
    const y0 = Math.max(0, region.y - margin);
    const x1 = Math.min(width, region.x + region.width + margin);
    const y1 = Math.min(height, region.y + region.height + margin);
    const factor = Math.max(1, Math.ceil(Math.max(x1 - x0, y1 - y0) / GRID_SIDE));
    const stride = Math.max(1, Math.floor(factor / 3));
    const gw = Math.ceil((x1 - x0) / factor);
    const gh = Math.ceil((y1 - y0) / factor);

    // Known-pixel sums and counts per grid cell.
    const weights = new Float64Array(gw * gh);
    const sums = new Float64Array(gw * gh * channels);
    const totals = new Float64Array(channels);
    let known = 0;
    for (let y = y0; y < y1; y += stride) {
      const row = ((y - y0) / factor) | 0;
      for (let x = x0; x < x1; x += stride) {
        const at = y * width + x;
        if (mask[at]) continue;
        const cell = row * gw + (((x - x0) / factor) | 0);
        weights[cell] += 1;
        const source = at * channels;
        for (let c = 0; c < channels; c++) {
          const value = image.data[source + c];
          sums[cell * channels + c] += value;
          totals[c] += value;
        }
        known++;
      }
    }
    if (known === 0) throw new RangeError('a region has no known pixels around it to fill from');

    const gridSigma = sigma / factor;
    gaussianBlur(weights, gw, gh, 1, gridSigma);
    gaussianBlur(sums, gw, gh, channels, gridSigma);

    // Per-cell fill values; cells the blur did not reach fall back to the neighbourhood mean.
    const fill = new Float64Array(gw * gh * channels);
    for (let cell = 0; cell < gw * gh; cell++) {
      const weight = weights[cell];
      for (let c = 0; c < channels; c++) {
        fill[cell * channels + c] = weight > 1e-9 ? sums[cell * channels + c] / weight : totals[c] / known;
      }
    }

    for (let y = region.y; y < region.y + region.height; y++) {
      const gy = clamp((y - y0 + 0.5) / factor - 0.5, 0, gh - 1);
      const gy0 = Math.floor(gy);
      const gy1 = Math.min(gh - 1, gy0 + 1);
      const fy = gy - gy0;
      for (let x = region.x; x < region.x + region.width; x++) {
        const gx = clamp((x - x0 + 0.5) / factor - 0.5, 0, gw - 1);
        const gx0 = Math.floor(gx);
        const gx1 = Math.min(gw - 1, gx0 + 1);
        const fx = gx - gx0;
        const target = (y * width + x) * channels;
        for (let c = 0; c < channels; c++) {
          const top = fill[(gy0 * gw + gx0) * channels + c] * (1 - fx) + fill[(gy0 * gw + gx1) * channels + c] * fx;
          const bottom = fill[(gy1 * gw + gx0) * channels + c] * (1 - fx) + fill[(gy1 * gw + gx1) * channels + c] * fx;
          output[target + c] = Math.round(clamp(top * (1 - fy) + bottom * fy, 0, 255));
        }
      }
    }
  }

  return { image: { data: output, width, height, channels }, mask, pixelsFilled: masked };
}

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}

/**
 * In-place Gaussian approximation by three box blurs per axis (running sums, zero outside the
 * grid). Zero padding is what the normalized convolution needs: numerator and denominator are
 * blurred alike, so the border does not bias the ratio.
 */
function gaussianBlur(plane: Float64Array, width: number, height: number, channels: number, sigma: number): void {
  const radius = boxRadius(sigma);
  if (radius < 1) return;
  const scratch = new Float64Array(Math.max(width, height));
  for (let pass = 0; pass < 3; pass++) {
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < height; y++) boxLine(plane, (y * width) * channels + c, channels, width, radius, scratch);
      for (let x = 0; x < width; x++) boxLine(plane, x * channels + c, width * channels, height, radius, scratch);
    }
  }
}

/** Radius of a box whose three-fold repetition has (about) the given standard deviation. */
function boxRadius(sigma: number): number {
  const size = Math.sqrt((12 * sigma * sigma) / 3 + 1);
  return Math.max(0, Math.round((size - 1) / 2));
}

function boxLine(plane: Float64Array, start: number, step: number, length: number, radius: number, scratch: Float64Array): void {
  for (let i = 0; i < length; i++) scratch[i] = plane[start + i * step];
  let sum = 0;
  for (let i = 0; i < Math.min(radius, length); i++) sum += scratch[i];
  const norm = 1 / (2 * radius + 1);
  for (let i = 0; i < length; i++) {
    const entering = i + radius;
    const leaving = i - radius - 1;
    if (entering < length) sum += scratch[entering];
    if (leaving >= 0) sum -= scratch[leaving];
    plane[start + i * step] = sum * norm;
  }
}
