import { describe, expect, it } from 'vitest';
import { MASKED, fillRegions, type PixelRegion, type RawImage } from './region-fill';

/** A smooth two-axis gradient: the ideal fill of any hole is (close to) the gradient itself. */
function gradient(width: number, height: number, channels = 3): RawImage {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * channels;
      data[at] = 40 + Math.round((160 * x) / width);
      if (channels > 1) data[at + 1] = 40 + Math.round((160 * y) / height);
      if (channels > 2) data[at + 2] = 100;
      if (channels > 3) data[at + 3] = 255;
    }
  }
  return { data, width, height, channels };
}

function paint(image: RawImage, region: PixelRegion, value: number): void {
  for (let y = region.y; y < region.y + region.height; y++) {
    image.data.fill(value, (y * image.width + region.x) * image.channels, (y * image.width + region.x + region.width) * image.channels);
  }
}

function meanError(a: RawImage, b: RawImage, region: PixelRegion): number {
  let total = 0;
  let count = 0;
  for (let y = region.y; y < region.y + region.height; y++) {
    for (let x = region.x; x < region.x + region.width; x++) {
      for (let c = 0; c < a.channels; c++) {
        const at = (y * a.width + x) * a.channels + c;
        total += Math.abs(a.data[at] - b.data[at]);
        count++;
      }
    }
  }
  return total / count;
}

describe('fillRegions', () => {
  it('fills a large hole on the coarse grid from its surroundings and leaves every other pixel alone', () => {
    const clean = gradient(1200, 800);
    const marked = gradient(1200, 800);
    const hole = { x: 450, y: 300, width: 300, height: 200 };
    paint(marked, hole, 0); // a black blot
    const { image, mask, pixelsFilled } = fillRegions(marked, [hole]);
    expect(pixelsFilled).toBe(300 * 200);
    expect(meanError(image, clean, hole)).toBeLessThan(6); // the blot is gone, the gradient continues
    let changedOutside = 0;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === MASKED) continue;
      for (let c = 0; c < 3; c++) if (image.data[i * 3 + c] !== marked.data[i * 3 + c]) changedOutside++;
    }
    expect(changedOutside).toBe(0);
    expect(marked.data.equals(gradient(1200, 800).data)).toBe(false); // the input was not modified in place…
    expect(image.data).not.toBe(marked.data); // …and the result is a new buffer
  });

  it('never uses one region’s erased content to fill another, overlapping or adjacent', () => {
    const clean = gradient(200, 100, 4);
    const marked = gradient(200, 100, 4);
    const a = { x: 50, y: 30, width: 40, height: 30 };
    const b = { x: 90, y: 30, width: 40, height: 30 }; // adjacent to a
    const c = { x: 70, y: 40, width: 40, height: 30 }; // overlaps both
    for (const region of [a, b, c]) paint(marked, region, 255);
    const { image, pixelsFilled } = fillRegions(marked, [a, b, c]);
    for (const region of [a, b, c]) expect(meanError(image, clean, region)).toBeLessThan(8);
    const union = new Set<number>();
    for (const r of [a, b, c]) for (let y = r.y; y < r.y + r.height; y++) for (let x = r.x; x < r.x + r.width; x++) union.add(y * 200 + x);
    expect(pixelsFilled).toBe(union.size);
  });

  it('fills a region at the image corner and a single-channel image', () => {
    const grey = gradient(64, 64, 1);
    const corner = { x: 0, y: 0, width: 8, height: 8 };
    const clean = gradient(64, 64, 1);
    paint(grey, corner, 255);
    expect(meanError(fillRegions(grey, [corner]).image, clean, corner)).toBeLessThan(10);
  });

  it('throws a RangeError when nothing around a region is known', () => {
    expect(() => fillRegions(gradient(10, 10), [{ x: 0, y: 0, width: 10, height: 10 }])).toThrow(RangeError);
  });
});
