import { describe, expect, it } from 'vitest';
import { BIOMETRIC_FIELD_PATTERN, findBiometricTemplateFields, validateFaceBoxes } from './face-boxes';
import { ImageInputError } from './image-input.error';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ImageInputError);
    expect((error as ImageInputError).status).toBe(422);
    return (error as ImageInputError).code;
  }
  return 'accepted';
}

describe('validateFaceBoxes', () => {
  it('accepts boxes inside the image, including boxes exactly touching the edges', () => {
    const faces = [
      { x: 0, y: 0, width: 1, height: 1 },
      { x: 540, y: 380, width: 100, height: 100 },
      { x: 0, y: 0, width: 640, height: 480 },
      { x: 10.5, y: 20.25, width: 30.5, height: 40.75 },
    ];
    expect(validateFaceBoxes(faces, 640, 480)).toEqual(faces);
    expect(validateFaceBoxes([], 640, 480)).toEqual([]);
  });

  it('refuses a box one pixel beyond the right or bottom edge', () => {
    expect(codeOf(() => validateFaceBoxes([{ x: 541, y: 0, width: 100, height: 100 }], 640, 480))).toBe('FACE_BOX_OUT_OF_BOUNDS');
    expect(codeOf(() => validateFaceBoxes([{ x: 0, y: 381, width: 100, height: 100 }], 640, 480))).toBe('FACE_BOX_OUT_OF_BOUNDS');
    expect(codeOf(() => validateFaceBoxes([{ x: 0, y: 0, width: 641, height: 1 }], 640, 480))).toBe('FACE_BOX_OUT_OF_BOUNDS');
  });

  it.each([
    ['negative x', { x: -1, y: 0, width: 10, height: 10 }],
    ['negative y', { x: 0, y: -0.5, width: 10, height: 10 }],
    ['zero width', { x: 0, y: 0, width: 0, height: 10 }],
    ['width below one pixel', { x: 0, y: 0, width: 0.5, height: 10 }],
    ['negative height', { x: 0, y: 0, width: 10, height: -10 }],
    ['NaN', { x: Number.NaN, y: 0, width: 10, height: 10 }],
    ['Infinity', { x: 0, y: 0, width: Number.POSITIVE_INFINITY, height: 10 }],
    ['-Infinity', { x: Number.NEGATIVE_INFINITY, y: 0, width: 10, height: 10 }],
    ['a string', { x: '0', y: 0, width: 10, height: 10 }],
    ['a missing field', { x: 0, y: 0, width: 10 }],
    ['null', null],
  ])('refuses %s', (_label, face) => {
    expect(codeOf(() => validateFaceBoxes([face as never], 640, 480))).toBe('FACE_BOX_OUT_OF_BOUNDS');
  });

  it('accepts 64 boxes and refuses 65', () => {
    const box = { x: 0, y: 0, width: 1, height: 1 };
    expect(validateFaceBoxes(Array.from({ length: 64 }, () => box), 10, 10)).toHaveLength(64);
    expect(codeOf(() => validateFaceBoxes(Array.from({ length: 65 }, () => box), 10, 10))).toBe('TOO_MANY_FACES');
  });

  it('returns only the geometry fields and names the offending box, not its coordinates', () => {
    const [copy] = validateFaceBoxes([{ x: 1, y: 2, width: 3, height: 4, embedding: [1, 2] } as never], 10, 10);
    expect(copy).toEqual({ x: 1, y: 2, width: 3, height: 4 });
    try {
      validateFaceBoxes([{ x: 1, y: 1, width: 1, height: 1 }, { x: 123, y: 456, width: 789, height: 1 }], 10, 10);
    } catch (error) {
      expect((error as Error).message).toContain('faces[1]');
      expect((error as Error).message).not.toContain('789');
    }
  });
});

describe('findBiometricTemplateFields', () => {
  it('finds template-like keys in any case style and at any depth', () => {
    const body = {
      imageBase64: 'QUJD',
      contentType: 'image/png',
      purpose: 'photo-restore',
      template: 'x',
      faces: [
        { x: 1, y: 2, width: 3, height: 4 },
        { x: 1, y: 2, width: 3, height: 4, landmarks: [[1, 2]], faceEmbedding: [0.1] },
      ],
      meta: { face_descriptor: [1], 'landmark-vector': [1], nested: { deep: { FeatureVector: [1] } } },
    };
    expect(findBiometricTemplateFields(body)).toEqual([
      'template',
      'faces[1].landmarks',
      'faces[1].faceEmbedding',
      'meta.face_descriptor',
      'meta.landmark-vector',
      'meta.nested.deep.FeatureVector',
    ]);
  });

  it.each([
    'template',
    'faceTemplate',
    'embedding',
    'embeddings',
    'face_embeddings',
    'descriptor',
    'DESCRIPTORS',
    'landmark',
    'Landmarks',
    'landmarkVector',
    'landmark_vector',
    'feature-vector',
    'featureVectors',
    'faceprint',
    'face_print',
    'encoding',
    'faceEncodings',
    'signatureVector',
    'signature_vector',
    'iris',
    'irisCode',
    'faceMesh',
    'keypoints',
    'biometric',
    'biometrics',
    'vector',
    'faceHash',
  ])('flags %s', (key) => {
    expect(BIOMETRIC_FIELD_PATTERN.test(key)).toBe(true);
    expect(findBiometricTemplateFields({ faces: [{ [key]: 1 }] })).toEqual([`faces[0].${key}`]);
  });

  it.each(['imageBase64', 'contentType', 'purpose', 'faces', 'x', 'y', 'width', 'height', 'options', 'regions', 'jobId', 'policyVersion'])(
    'does not flag the contract field %s',
    (key) => {
      expect(BIOMETRIC_FIELD_PATTERN.test(key)).toBe(false);
    },
  );

  it('reports nothing for a clean upload and for scalars', () => {
    expect(
      findBiometricTemplateFields({ imageBase64: 'QUJD', contentType: 'image/jpeg', purpose: 'erase-pen', faces: [{ x: 0, y: 0, width: 1, height: 1 }] }),
    ).toEqual([]);
    expect(findBiometricTemplateFields(null)).toEqual([]);
    expect(findBiometricTemplateFields('template')).toEqual([]);
  });

  it('only looks at keys, not at values', () => {
    expect(findBiometricTemplateFields({ purpose: 'template', note: ['embedding'] })).toEqual([]);
  });

  it('reports a body nested too deeply to check instead of letting it through', () => {
    let body: unknown = { template: 1 };
    for (let i = 0; i < 100; i++) body = { a: body };
    const hits = findBiometricTemplateFields(body, 10);
    expect(hits).toHaveLength(1);
    expect(hits[0].endsWith('…')).toBe(true);
  });
});
