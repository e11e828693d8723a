import sharp, { type Stats } from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Purpose } from '../../../events/purposes';
import { inspectImage } from '../../facial-data/image-inspection/image-inspector';
import { ProcessingError, type FaceBox, type ProcessingInput } from '../face-processor.port';
import { SharpFaceProcessor } from './sharp-face-processor';

/** A smooth gradient with mild noise: textured everywhere, predictable for fills. */
function gradient(width: number, height: number, channels: 3 | 4 = 3): { data: Buffer; width: number; height: number; channels: 3 | 4 } {
  const data = Buffer.alloc(width * height * channels);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = ((seed >> 16) % 9) - 4;
      const at = (y * width + x) * channels;
      data[at] = 60 + Math.round((120 * x) / width) + n;
      data[at + 1] = 80 + Math.round((100 * y) / height) + n;
      data[at + 2] = 120 + n;
      if (channels === 4) data[at + 3] = 255;
    }
  }
  return { data, width, height, channels };
}

function encodeRaw(raw: ReturnType<typeof gradient>): ReturnType<typeof sharp> {
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
}

async function rawOf(bytes: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function input(purpose: Purpose, image: Buffer, contentType: string, extra: Partial<ProcessingInput> = {}): ProcessingInput {
  return { jobId: '6f1d2a4e-0000-4000-8000-000000000001', purpose, image, contentType, faces: [], options: {}, ...extra };
}

async function failure(promise: Promise<unknown>): Promise<ProcessingError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProcessingError);
    return error as ProcessingError;
  }
  throw new Error('expected a ProcessingError');
}

let jpeg: Buffer;
let png: Buffer;
let pngAlpha: Buffer;
let rotatedJpeg: Buffer;
let heif: Buffer;
let hevcHeic: Buffer;
const processor = new SharpFaceProcessor({ concurrency: 2 });

beforeAll(async () => {
  jpeg = await encodeRaw(gradient(64, 48)).jpeg({ quality: 90 }).toBuffer();
  png = await encodeRaw(gradient(31, 17)).png().toBuffer();
  pngAlpha = await encodeRaw(gradient(20, 10, 4)).png().toBuffer();
  rotatedJpeg = await encodeRaw(gradient(120, 80)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  // A real HEIF container from an encoder sharp can decode (AV1 coded), with the generic mif1 brand.
  heif = await encodeRaw(gradient(40, 30)).heif({ compression: 'av1' }).toBuffer();
  heif.write('mif1', 8, 'latin1');
  // The same container claiming HEVC-coded data: structurally a HEIC, but not decodable here.
  hevcHeic = Buffer.from(heif);
  hevcHeic.write('heic', 8, 'latin1');
  hevcHeic.write('hvc1', hevcHeic.indexOf('av01'), 'latin1');
  hevcHeic.write('hvcC', hevcHeic.indexOf('av1C'), 'latin1');
});

describe('SharpFaceProcessor: identity and purposes', () => {
  it('is local-sharp and supports exactly the four purposes it can honestly do', () => {
    expect(processor.identityFor('photo-enlarge')).toEqual({ name: 'local-sharp' });
    expect(['photo-enlarge', 'photo-restore', 'erase-pen', 'face-detection-verification'].every((p) => processor.supports(p as Purpose))).toBe(true);
    expect(processor.supports('ai-edit')).toBe(false);
    expect(processor.supports('time-painting')).toBe(false);
  });

  it.each(['ai-edit', 'time-painting'] as const)('answers %s with PROCESSOR_UNSUPPORTED', async (purpose) => {
    const error = await failure(processor.process(input(purpose, png, 'image/png')));
    expect(error.code).toBe('PROCESSOR_UNSUPPORTED');
    expect(error.retryable).toBe(false);
  });
});

describe('SharpFaceProcessor: photo-enlarge', () => {
  it('doubles both sides exactly and keeps JPEG as JPEG', async () => {
    const out = await processor.process(input('photo-enlarge', jpeg, 'image/jpeg'));
    expect(out.artwork).toMatchObject({ contentType: 'image/jpeg', width: 128, height: 96 });
    const meta = await sharp(out.artwork!.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 128, 96]);
    expect(inspectImage(out.artwork!.bytes, 'image/jpeg', { maxPixels: 1e8 })).toMatchObject({ width: 128, height: 96 });
  });

  it('keeps PNG as PNG, with odd sizes and alpha', async () => {
    const out = await processor.process(input('photo-enlarge', png, 'image/png'));
    expect(out.artwork).toMatchObject({ contentType: 'image/png', width: 62, height: 34 });
    const alpha = await processor.process(input('photo-enlarge', pngAlpha, 'image/png'));
    const meta = await sharp(alpha.artwork!.bytes).metadata();
    expect([meta.format, meta.width, meta.height, meta.hasAlpha]).toEqual(['png', 40, 20, true]);
  });

  it('works in the displayed orientation and drops the metadata', async () => {
    const out = await processor.process(input('photo-enlarge', rotatedJpeg, 'image/jpeg'));
    expect(out.artwork).toMatchObject({ width: 160, height: 240 });
    expect((await sharp(out.artwork!.bytes).metadata()).orientation).toBeUndefined();
  });

  it('reads a HEIF it can decode and answers PNG', async () => {
    const out = await processor.process(input('photo-enlarge', heif, 'image/heic'));
    expect(out.artwork).toMatchObject({ contentType: 'image/png', width: 80, height: 60 });
    expect((await sharp(out.artwork!.bytes).metadata()).format).toBe('png');
  });

  it('answers IMAGE_UNREADABLE for a HEIC it cannot decode', async () => {
    const error = await failure(processor.process(input('photo-enlarge', hevcHeic, 'image/heic')));
    expect(error.code).toBe('IMAGE_UNREADABLE');
  });

  it('refuses an enlargement beyond maxOutputPixels', async () => {
    const small = new SharpFaceProcessor({ maxOutputPixels: 64 * 48 * 3 });
    expect((await failure(small.process(input('photo-enlarge', jpeg, 'image/jpeg')))).code).toBe('PROCESSOR_REJECTED');
  });

  it('returns the orientation-normalised PNG as an intermediate', async () => {
    const out = await processor.process(input('photo-enlarge', rotatedJpeg, 'image/jpeg'));
    expect(out.intermediates.map((i) => i.name)).toEqual(['normalised.png']);
    const meta = await sharp(out.intermediates[0].bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 80, 120]);
  });
});

describe('SharpFaceProcessor: photo-restore', () => {
  it('keeps the size and format and stretches a faded photo’s contrast', async () => {
    const faded = gradient(80, 60);
    for (let i = 0; i < faded.data.length; i++) faded.data[i] = 110 + Math.round(faded.data[i] / 8);
    const bytes = await encodeRaw(faded).png().toBuffer();
    const out = await processor.process(input('photo-restore', bytes, 'image/png'));
    expect(out.artwork).toMatchObject({ contentType: 'image/png', width: 80, height: 60 });
    const before = await sharp(bytes).stats();
    const after = await sharp(out.artwork!.bytes).stats();
    const range = (s: Stats): number => s.channels[0].max - s.channels[0].min;
    expect(range(after)).toBeGreaterThan(range(before) * 2);
    const jpegOut = await processor.process(input('photo-restore', jpeg, 'image/jpeg'));
    expect(jpegOut.artwork).toMatchObject({ contentType: 'image/jpeg', width: 64, height: 48 });
    expect(out.intermediates.length).toBeGreaterThanOrEqual(1);
  });
});

describe('SharpFaceProcessor: erase-pen', () => {
  const width = 96;
  const height = 64;
  const region = { x: 38, y: 20, width: 24, height: 20 };
  let marked: ReturnType<typeof gradient>;
  let markedPng: Buffer;

  beforeAll(async () => {
    marked = gradient(width, height);
    // A red pen stroke inside the region.
    for (let y = 24; y < 36; y++) {
      for (let x = 42; x < 58; x++) {
        const at = (y * width + x) * 3;
        marked.data[at] = 250;
        marked.data[at + 1] = 10;
        marked.data[at + 2] = 10;
      }
    }
    markedPng = await encodeRaw(marked).png().toBuffer();
  });

  it('replaces the pixels inside the regions with the surroundings and leaves the rest untouched', async () => {
    const out = await processor.process(input('erase-pen', markedPng, 'image/png', { options: { regions: [region] } }));
    expect(out.artwork).toMatchObject({ contentType: 'image/png', width, height });
    const result = await rawOf(out.artwork!.bytes);
    const clean = gradient(width, height);
    let insideError = 0;
    let insideCount = 0;
    let changedOutside = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = (y * width + x) * 3;
        const inside = x >= region.x && x < region.x + region.width && y >= region.y && y < region.y + region.height;
        if (inside) {
          expect(result.data[at] - result.data[at + 1]).toBeLessThan(100); // no red stroke left
          for (let c = 0; c < 3; c++) insideError += Math.abs(result.data[at + c] - clean.data[at + c]);
          insideCount += 3;
        } else if ([0, 1, 2].some((c) => result.data[at + c] !== marked.data[at + c])) {
          changedOutside++;
        }
      }
    }
    expect(changedOutside).toBe(0);
    // The fill follows the gradient around it: close to what was under the stroke.
    expect(insideError / insideCount).toBeLessThan(12);
    expect(out.intermediates.map((i) => i.name)).toEqual(['normalised.png', 'erase-mask.png']);
    const mask = await rawOf(out.intermediates[1].bytes);
    expect(mask.data[(25 * width + 45) * mask.channels]).toBe(255);
    expect(mask.data[(5 * width + 5) * mask.channels]).toBe(0);
    expect(out.summary).toMatchObject({ regionsFilled: 1, pixelsFilled: region.width * region.height });
  });

  it('fills several regions, including one touching the image edges, and keeps JPEG as JPEG', async () => {
    const regions = [region, { x: 0, y: 0, width: 10, height: 10 }, { x: 86, y: 54, width: 10, height: 10 }];
    const out = await processor.process(input('erase-pen', markedPng, 'image/png', { options: { regions } }));
    expect(out.summary).toMatchObject({ regionsFilled: 3 });
    const jpegOut = await processor.process(
      input('erase-pen', await encodeRaw(marked).jpeg().toBuffer(), 'image/jpeg', { options: { regions: [region] } }),
    );
    expect(jpegOut.artwork).toMatchObject({ contentType: 'image/jpeg', width, height });
  });

  it.each([
    ['no options', {}],
    ['no regions', { regions: [] }],
    ['33 regions', { regions: Array.from({ length: 33 }, () => ({ x: 0, y: 0, width: 1, height: 1 })) }],
    ['a region not an object', { regions: [5] }],
    ['fractional coordinates', { regions: [{ x: 1.5, y: 0, width: 4, height: 4 }] }],
    ['a negative coordinate', { regions: [{ x: -1, y: 0, width: 4, height: 4 }] }],
    ['a zero-width region', { regions: [{ x: 1, y: 0, width: 0, height: 4 }] }],
    ['NaN', { regions: [{ x: Number.NaN, y: 0, width: 4, height: 4 }] }],
    ['a region one pixel beyond the right edge', { regions: [{ x: 87, y: 0, width: 10, height: 4 }] }],
    ['a region one pixel beyond the bottom edge', { regions: [{ x: 0, y: 55, width: 4, height: 10 }] }],
    ['more than half of the image', { regions: [{ x: 0, y: 0, width: 96, height: 33 }] }],
    ['an unknown option key', { regions: [region], strength: 3 }],
    ['an unknown region key', { regions: [{ ...region, colour: 'red' }] }],
    ['options that are not an object', ['regions']],
  ])('refuses %s with INVALID_OPTIONS', async (_label, options) => {
    const error = await failure(processor.process(input('erase-pen', markedPng, 'image/png', { options: options as never })));
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.retryable).toBe(false);
  });
});

describe('SharpFaceProcessor: face-detection-verification', () => {
  it('verifies a textured box, rejects a flat one, an out-of-bounds one and a degenerate one', async () => {
    const width = 120;
    const height = 80;
    const raw = gradient(width, height);
    // A blank (flat white) patch on the right.
    for (let y = 10; y < 70; y++) raw.data.fill(255, (y * width + 70) * 3, (y * width + 110) * 3);
    // Strong texture on the left, like a face's features.
    for (let y = 10; y < 50; y++) {
      for (let x = 10; x < 50; x++) {
        const v = (x + y) % 6 < 3 ? 30 : 220;
        raw.data.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
      }
    }
    const bytes = await encodeRaw(raw).jpeg({ quality: 92 }).toBuffer();
    const faces: FaceBox[] = [
      { x: 10, y: 10, width: 40, height: 40 }, // textured → verified
      { x: 75, y: 15, width: 30, height: 30 }, // flat → rejected
      { x: 100, y: 60, width: 30, height: 30 }, // beyond the image → rejected
      { x: 0, y: 0, width: 3, height: 3 }, // too small → rejected
      { x: 0, y: 70, width: 100, height: 10 }, // a sliver → rejected
      { x: 0, y: 0, width: 120, height: 80 }, // the whole image, touching every edge → verified
    ];
    const out = await processor.process(input('face-detection-verification', bytes, 'image/jpeg', { faces }));
    expect(out.artwork).toBeUndefined();
    expect(out.summary).toEqual({
      facesReported: 6,
      facesVerified: 2,
      facesRejected: 4,
      rejectedOutOfBounds: 1,
      rejectedDegenerate: 2,
      rejectedFlat: 1,
    });
    expect(out.intermediates.length).toBeGreaterThanOrEqual(1);
  });

  it('reports zero faces for an empty list and refuses options', async () => {
    const out = await processor.process(input('face-detection-verification', png, 'image/png'));
    expect(out.summary).toMatchObject({ facesReported: 0, facesVerified: 0, facesRejected: 0 });
    const error = await failure(processor.process(input('face-detection-verification', png, 'image/png', { options: { threshold: 1 } })));
    expect(error.code).toBe('INVALID_OPTIONS');
  });
});

describe('SharpFaceProcessor: input checks and limits', () => {
  it('refuses unknown option keys for purposes without options', async () => {
    for (const purpose of ['photo-enlarge', 'photo-restore'] as const) {
      expect((await failure(processor.process(input(purpose, png, 'image/png', { options: { scale: 4 } })))).code).toBe('INVALID_OPTIONS');
    }
  });

  it('answers IMAGE_UNREADABLE for bytes that are not the declared type, truncated files or oversized images', async () => {
    expect((await failure(processor.process(input('photo-restore', png, 'image/jpeg')))).code).toBe('IMAGE_UNREADABLE');
    expect((await failure(processor.process(input('photo-restore', Buffer.from('<script>'), 'image/png')))).code).toBe('IMAGE_UNREADABLE');
    expect((await failure(processor.process(input('photo-restore', jpeg.subarray(0, 200), 'image/jpeg')))).code).toBe('IMAGE_UNREADABLE');
    const tiny = new SharpFaceProcessor({ maxPixels: 100 });
    expect((await failure(tiny.process(input('photo-restore', png, 'image/png')))).code).toBe('IMAGE_UNREADABLE');
  });

  it('processes concurrent jobs through its bounded pool', async () => {
    const single = new SharpFaceProcessor({ concurrency: 1 });
    const outputs = await Promise.all(Array.from({ length: 5 }, () => single.process(input('photo-enlarge', png, 'image/png'))));
    expect(outputs.every((o) => o.artwork?.width === 62)).toBe(true);
  });
});
