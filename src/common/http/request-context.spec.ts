import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Base64Text } from './base64-text';
import { canonicalJson, requestHash } from './request-context';

describe('canonicalJson / requestHash', () => {
  it('sort keys at every depth, so key order does not change the hash', () => {
    const a = { purpose: 'photo-restore', faces: [{ y: 2, x: 1 }], contentType: 'image/jpeg' };
    const b = { contentType: 'image/jpeg', faces: [{ x: 1, y: 2 }], purpose: 'photo-restore' };
    expect(canonicalJson(a)).toBe('{"contentType":"image/jpeg","faces":[{"x":1,"y":2}],"purpose":"photo-restore"}');
    expect(requestHash('upload-image', a)).toBe(requestHash('upload-image', b));
    expect(requestHash('upload-image', a)).not.toBe(requestHash('queue-job', a));
  });

  it('leave out undefined fields and write null for undefined array items, as JSON does', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, null], c: 'x' })).toBe('{"b":[null,null],"c":"x"}');
  });

  it('hash a Base64Text exactly as the string it stands for', () => {
    const text = randomBytes(150_000).toString('base64');
    const asString = { imageBase64: text, purpose: 'photo-restore', faces: [] };
    expect(Base64Text.fromString(text)).not.toBeNull();
    const asBytes = { imageBase64: Base64Text.fromString(text), purpose: 'photo-restore', faces: [] };
    expect(requestHash('upload-image', asBytes)).toBe(requestHash('upload-image', asString));
    expect(canonicalJson(asBytes)).toBe(canonicalJson(asString));
    const other = { ...asBytes, imageBase64: Base64Text.fromString(`${text.slice(0, -4)}AAAA`) };
    expect(requestHash('upload-image', other)).not.toBe(requestHash('upload-image', asString));
  });
});
