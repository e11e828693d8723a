import type { FaceBox } from '../../processing/face-processor.port';
import { ImageInputError } from './image-input.error';

export const MAX_FACE_BOXES = 64;

/**
 * Checks the face boxes an upload carries against the image's displayed size: finite numbers,
 * x, y ≥ 0, width, height ≥ 1, the box inside the image (touching the edges is fine), at most
 * 64 boxes. Returns plain copies holding only the four geometry fields.
 */
export function validateFaceBoxes(faces: readonly FaceBox[], imageWidth: number, imageHeight: number): FaceBox[] {
  if (!Array.isArray(faces)) {
    throw new ImageInputError('FACE_BOX_OUT_OF_BOUNDS', 'faces must be an array of boxes');
  }
  if (faces.length > MAX_FACE_BOXES) {
    throw new ImageInputError('TOO_MANY_FACES', `at most ${MAX_FACE_BOXES} face boxes are accepted`);
  }
  return faces.map((face: unknown, index) => {
    const box = readBox(face);
    if (!box) {
      throw new ImageInputError('FACE_BOX_OUT_OF_BOUNDS', `faces[${index}] must have finite numeric x, y, width and height`);
    }
    if (box.x < 0 || box.y < 0 || box.width < 1 || box.height < 1) {
      throw new ImageInputError('FACE_BOX_OUT_OF_BOUNDS', `faces[${index}] needs x, y ≥ 0 and width, height ≥ 1`);
    }
    if (box.x + box.width > imageWidth || box.y + box.height > imageHeight) {
      throw new ImageInputError('FACE_BOX_OUT_OF_BOUNDS', `faces[${index}] extends beyond the ${imageWidth}×${imageHeight} image`);
    }
    return box;
  });
}

function readBox(value: unknown): FaceBox | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { x, y, width, height } = record;
  if (!isFiniteNumber(x) || !isFiniteNumber(y) || !isFiniteNumber(width) || !isFiniteNumber(height)) return undefined;
  return { x, y, width, height };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Key names that carry a biometric template rather than plain geometry. Matched case-insensitively
 * against raw keys in camelCase, snake_case, kebab-case or with spaces/dots between the words.
 */
export const BIOMETRIC_FIELD_PATTERN =
  /templates?|embeddings?|embedded[\s._-]*vectors?|descriptors?|land[\s._-]*marks?|key[\s._-]*points?|feature[\s._-]*(?:vectors?|points?|maps?)|face[\s._-]*(?:features?|prints?|vectors?|signatures?|codes?|hash(?:es)?|mesh(?:es)?)|faceprints?|encodings?|signature[\s._-]*vectors?|vectors?$|^vec$|iris|retina|biometrics?|minutiae|finger[\s._-]*prints?|eigen[\s._-]*faces?/i;

export const MAX_SCAN_DEPTH = 32;
const MAX_SCAN_NODES = 100_000;

/**
 * Walks a parsed JSON body and returns the path of every key naming a biometric template
 * (`template`, `faces[0].landmarks`, `meta.face_embedding`, …). An upload with any hit is refused
 * with BIOMETRIC_TEMPLATE_REJECTED by the caller.
 *
 * The walk is bounded: a subtree deeper than `maxDepth` levels, or a body with more than 100,000
 * values, cannot be proven clean, so it is reported too (its path ends with `…`) and the upload is
 * refused rather than let through unchecked.
 */
export function findBiometricTemplateFields(body: unknown, maxDepth = MAX_SCAN_DEPTH): string[] {
  const hits: string[] = [];
  let visited = 0;
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: body, path: '', depth: 0 }];

  while (stack.length > 0) {
    const { value, path, depth } = stack.pop() as { value: unknown; path: string; depth: number };
    if (typeof value !== 'object' || value === null) continue;
    visited++;
    if (visited > MAX_SCAN_NODES) {
      hits.push(`${path || '$'}…`);
      break;
    }
    if (depth >= maxDepth) {
      hits.push(`${path || '$'}…`);
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 });
      }
      continue;
    }
    const keys = Object.keys(value);
    const childPath = (key: string): string => (path ? `${path}.${key}` : key);
    for (const key of keys) {
      if (BIOMETRIC_FIELD_PATTERN.test(key)) hits.push(childPath(key));
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      stack.push({ value: (value as Record<string, unknown>)[keys[i]], path: childPath(keys[i]), depth: depth + 1 });
    }
  }
  return hits;
}
