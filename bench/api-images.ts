/**
 * Test images for the API benchmark, generated with sharp: a 4:3 JPEG of blurred colour noise
 * (quality 85), sized by bisection on its width until the encoded file is within 3% of the
 * requested size. Blurred noise compresses like a detailed photo (no large flat areas, no
 * repeated blocks), so a "200 KiB JPEG" really is 200 KiB of high-entropy JPEG data with a valid
 * header for the service's inspector.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';

export interface BenchImage {
  readonly bytes: Buffer;
  readonly width: number;
  readonly height: number;
}

const QUALITY = 85;
const BLUR_SIGMA = 1.2;

async function encode(width: number, height: number): Promise<Buffer> {
  const pixels = randomBytes(width * height * 3);
  return sharp(pixels, { raw: { width, height, channels: 3 } }).blur(BLUR_SIGMA).jpeg({ quality: QUALITY }).toBuffer();
}

/** A photo-like JPEG of about `targetBytes` (±3%). */
export async function photoLikeJpeg(targetBytes: number): Promise<BenchImage> {
  let low = 16;
  let high = 4096;
  let best: BenchImage | null = null;
  for (let step = 0; step < 24 && low <= high; step++) {
    const width = Math.round((low + high) / 2);
    const height = Math.max(1, Math.round((width * 3) / 4));
    const bytes = await encode(width, height);
    if (!best || Math.abs(bytes.length - targetBytes) < Math.abs(best.bytes.length - targetBytes)) best = { bytes, width, height };
    if (Math.abs(bytes.length - targetBytes) <= targetBytes * 0.03) return { bytes, width, height };
    if (bytes.length < targetBytes) low = width + 1;
    else high = width - 1;
  }
  if (!best) throw new Error('could not generate a benchmark image');
  return best;
}
