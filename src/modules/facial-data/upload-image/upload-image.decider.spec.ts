import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../../common/errors/domain-error';
import { PURPOSES, type Purpose } from '../../../events/purposes';
import { foldImage } from '../images/image.state';
import { history } from '../images/image-history.fixture';
import { checkUploadContent, decideIdempotentUpload, decideUpload, needsFace, requireAllowedPurpose, type UploadInput } from './upload-image.decider';

const SUBJECT = '11111111-1111-4111-8111-111111111111';
const IMAGE = '22222222-2222-4222-8222-222222222222';
const LIMITS = { maxBytes: 64 * 1024, maxPixels: 1_000_000 };

let jpeg: Buffer;
let png: Buffer;

beforeAll(async () => {
  const pixels = Buffer.alloc(80 * 60 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919) % 251;
  jpeg = await sharp(pixels, { raw: { width: 80, height: 60, channels: 3 } }).jpeg().toBuffer();
  png = await sharp(pixels, { raw: { width: 80, height: 60, channels: 3 } }).png().toBuffer();
});

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

function input(overrides: Partial<UploadInput> = {}): UploadInput {
  return { imageBase64: jpeg.toString('base64'), contentType: 'image/jpeg', purpose: 'photo-enlarge', faces: [{ x: 10, y: 10, width: 30, height: 30 }], ...overrides };
}

describe('upload rules: purpose', () => {
  it('accepts exactly the six purposes of the privacy policy', () => {
    for (const purpose of PURPOSES) expect(requireAllowedPurpose(purpose)).toBe(purpose);
    for (const other of ['marketing', 'identification', '', 'PHOTO-ENLARGE', 42, null]) {
      const error = refusal(() => requireAllowedPurpose(other));
      expect([error.status, error.code]).toEqual([422, 'PURPOSE_NOT_ALLOWED']);
    }
  });

  it('every purpose needs a face except erase-pen', () => {
    expect(PURPOSES.filter((p) => !needsFace(p))).toEqual(['erase-pen']);
  });
});

describe('upload rules: content', () => {
  it('given a real JPEG with a face inside it, the upload is checked: size, displayed dimensions, SHA-256, face boxes', () => {
    const checked = checkUploadContent(input(), LIMITS);
    expect(checked.bytes.equals(jpeg)).toBe(true);
    expect(checked).toMatchObject({ contentType: 'image/jpeg', width: 80, height: 60, faces: [{ x: 10, y: 10, width: 30, height: 30 }] });
    expect(checked.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(checkUploadContent(input({ imageBase64: png.toString('base64'), contentType: 'image/png' }), LIMITS).contentType).toBe('image/png');
  });

  it('refuses malformed Base64 (400) and a decoded size over the limit (413)', () => {
    const bad = refusal(() => checkUploadContent(input({ imageBase64: `data:image/jpeg;base64,${jpeg.toString('base64')}` }), LIMITS));
    expect([bad.status, bad.code]).toEqual([400, 'INVALID_BASE64']);
    const big = refusal(() => checkUploadContent(input(), { ...LIMITS, maxBytes: jpeg.length - 1 }));
    expect([big.status, big.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('refuses bytes that are not the declared type, unsupported types, damaged files and oversized images (422)', () => {
    const cases: Array<[Partial<UploadInput>, string, typeof LIMITS?]> = [
      [{ contentType: 'image/png' }, 'CONTENT_TYPE_MISMATCH'],
      [{ imageBase64: png.toString('base64'), contentType: 'image/heic' }, 'CONTENT_TYPE_MISMATCH'],
      [{ imageBase64: Buffer.from('not an image at all').toString('base64') }, 'CONTENT_TYPE_MISMATCH'],
      [{ contentType: 'image/gif' }, 'UNSUPPORTED_CONTENT_TYPE'],
      [{ imageBase64: jpeg.subarray(0, jpeg.length >> 1).toString('base64') }, 'IMAGE_UNREADABLE'],
      [{}, 'IMAGE_DIMENSIONS_REFUSED', { ...LIMITS, maxPixels: 80 * 60 - 1 }],
    ];
    for (const [overrides, code, limits] of cases) {
      const error = refusal(() => checkUploadContent(input(overrides), limits ?? LIMITS));
      expect([error.status, error.code]).toEqual([422, code]);
    }
  });

  it('refuses an upload without a face for a purpose that needs one, but not for erase-pen', () => {
    for (const purpose of PURPOSES.filter((p): p is Purpose => p !== 'erase-pen')) {
      const error = refusal(() => checkUploadContent(input({ purpose, faces: [] }), LIMITS));
      expect([error.status, error.code]).toEqual([422, 'NO_FACE_DETECTED']);
    }
    expect(checkUploadContent(input({ purpose: 'erase-pen', faces: [] }), LIMITS).faces).toEqual([]);
  });

  it('refuses face boxes outside the image and more than 64 boxes; a box touching the edges is inside', () => {
    expect(checkUploadContent(input({ faces: [{ x: 0, y: 0, width: 80, height: 60 }] }), LIMITS).faces).toHaveLength(1);
    for (const face of [
      { x: 50, y: 10, width: 31, height: 10 },
      { x: 10, y: 59, width: 10, height: 2 },
      { x: -1, y: 0, width: 10, height: 10 },
      { x: 0, y: 0, width: 0, height: 10 },
    ]) {
      const error = refusal(() => checkUploadContent(input({ faces: [face] }), LIMITS));
      expect([error.status, error.code]).toEqual([422, 'FACE_BOX_OUT_OF_BOUNDS']);
    }
    const many = Array.from({ length: 65 }, () => ({ x: 1, y: 1, width: 2, height: 2 }));
    expect(refusal(() => checkUploadContent(input({ faces: many }), LIMITS)).code).toBe('TOO_MANY_FACES');
  });

  it('checks in order: Base64 before type, type before faces', () => {
    expect(refusal(() => checkUploadContent(input({ imageBase64: '***', contentType: 'image/gif', faces: [] }), LIMITS)).code).toBe('INVALID_BASE64');
    expect(refusal(() => checkUploadContent(input({ contentType: 'image/png', faces: [] }), LIMITS)).code).toBe('CONTENT_TYPE_MISMATCH');
    expect(refusal(() => checkUploadContent(input({ faces: [] }), LIMITS)).code).toBe('NO_FACE_DETECTED');
  });
});

describe('upload: events', () => {
  it('records key, size, hash, geometry and the face boxes, and logs the count in the operation log; never the bytes', () => {
    const checked = checkUploadContent(input({ faces: [{ x: 1, y: 2, width: 3, height: 4 }, { x: 40, y: 20, width: 10.5, height: 12 }] }), LIMITS);
    const events = decideUpload({ subjectId: SUBJECT, imageId: IMAGE, purpose: 'photo-enlarge', objectKey: `originals/${SUBJECT}/${IMAGE}`, checked });
    expect(events.image).toEqual({
      type: 'ImageUploaded',
      data: {
        imageId: IMAGE,
        subjectId: SUBJECT,
        purpose: 'photo-enlarge',
        contentType: 'image/jpeg',
        objectKey: `originals/${SUBJECT}/${IMAGE}`,
        size: jpeg.length,
        sha256: checked.sha256,
        width: 80,
        height: 60,
        faceCount: 2,
        faces: [
          { x: 1, y: 2, width: 3, height: 4 },
          { x: 40, y: 20, width: 10.5, height: 12 },
        ],
      },
    });
    expect(events.oplog).toEqual({ type: 'FaceDetectionLogged', data: { subjectId: SUBJECT, imageId: IMAGE, purpose: 'photo-enlarge', faceCount: 2 } });
    const json = JSON.stringify(events);
    expect(json.includes(jpeg.toString('base64').slice(0, 40))).toBe(false);
    expect(json.includes(jpeg.subarray(0, 64).toString('latin1'))).toBe(false);
  });
});

describe('upload: Idempotency-Key', () => {
  const uploaded = (requestHash: string) =>
    history(`image-${IMAGE}`, [
      [
        {
          type: 'ImageUploaded',
          data: {
            imageId: IMAGE,
            subjectId: SUBJECT,
            purpose: 'photo-enlarge',
            contentType: 'image/jpeg',
            objectKey: `originals/${SUBJECT}/${IMAGE}`,
            size: 10,
            sha256: 'a'.repeat(64),
            width: 8,
            height: 8,
            faceCount: 1,
            faces: [{ x: 0, y: 0, width: 1, height: 1 }],
          },
        },
        { requestHash, occurredAt: '2026-03-02T02:00:00.000Z' },
      ],
    ]);

  it('given no image for the key, the upload is new', () => {
    expect(decideIdempotentUpload(foldImage([]), 'h1')).toEqual({ kind: 'new' });
  });

  it('given the same request already stored, the first answer is replayed (also after the image was deleted)', () => {
    expect(decideIdempotentUpload(foldImage(uploaded('h1')), 'h1')).toEqual({ kind: 'replay', imageId: IMAGE, uploadedAt: '2026-03-02T02:00:00.000Z' });
    const deleted = [
      ...uploaded('h1'),
      ...history(`image-${IMAGE}`, [
        { type: 'ImageDeleted', data: { imageId: IMAGE, subjectId: SUBJECT, purpose: 'photo-enlarge', objectKey: `originals/${SUBJECT}/${IMAGE}`, reason: 'user' } },
      ]),
    ];
    expect(decideIdempotentUpload(foldImage(deleted), 'h1').kind).toBe('replay');
  });

  it('given the key used with another body, 422 IDEMPOTENCY_KEY_REUSED', () => {
    const error = refusal(() => decideIdempotentUpload(foldImage(uploaded('h1')), 'h2'));
    expect([error.status, error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
  });
});
