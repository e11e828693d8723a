import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Base64Text } from '../../../common/http/base64-text';
import { decodeBase64Strict } from './base64';
import { ImageInputError } from './image-input.error';

function refusal(run: () => unknown): ImageInputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ImageInputError);
    return error as ImageInputError;
  }
  throw new Error('expected a refusal');
}

describe('decodeBase64Strict', () => {
  it('round-trips every length of padding', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = randomBytes(length);
      const decoded = decodeBase64Strict(bytes.toString('base64'), 1024);
      expect(decoded.equals(bytes)).toBe(true);
    }
  });

  it('accepts the whole alphabet including + and /', () => {
    const text = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    expect(decodeBase64Strict(text, 1024).toString('base64')).toBe(text);
  });

  it.each([
    ['whitespace inside', 'QUJD REVG'],
    ['a line break', 'QUJD\nREVG'],
    ['a trailing newline', 'QUJDREVG\n'],
    ['a data: URL prefix', 'data:image/png;base64,QUJDREVG'],
    ['URL-safe characters', 'ab-_abcd'],
    ['missing padding', 'QUJDRA'],
    ['too much padding', 'QUJDRA==='],
    ['padding only', '===='],
    ['padding in the middle', 'QQ==QUJD'],
    ['a single = in the middle', 'QUJ=QUJD'],
    ['non-ASCII characters', 'QUJDREVGé123'],
    ['non-canonical bits before ==', 'QR=='],
    ['non-canonical bits before =', 'QUJ='],
  ])('refuses %s with INVALID_BASE64 (400)', (_label, text) => {
    const error = refusal(() => decodeBase64Strict(text, 1024));
    expect(error.code).toBe('INVALID_BASE64');
    expect(error.status).toBe(400);
    // Never a Base64Text: the body parser leaves such a value to the ordinary parse, so it gets this refusal.
    expect(Base64Text.fromString(text)).toBeNull();
  });

  describe('a Base64Text (what the body parser cut out of a large body)', () => {
    const checked = (text: string) => {
      const value = Base64Text.fromString(text);
      if (!value) throw new Error('not canonical');
      return value;
    };

    it('decodes like the string, for every padding and across chunk boundaries', () => {
      for (const length of [0, 1, 2, 3, 4, 5, 36_863, 36_864, 36_865, 110_592, 200 * 1024, 200 * 1024 + 1, 200 * 1024 + 2]) {
        const bytes = randomBytes(length);
        const text = checked(bytes.toString('base64'));
        expect(decodeBase64Strict(text, 1024 * 1024).equals(bytes), `length ${length}`).toBe(true);
        expect(text.toString()).toBe(bytes.toString('base64'));
      }
    });

    it('is never made of a text that is not canonical, wherever the fault is', () => {
      const text = randomBytes(120_000).toString('base64');
      // Padding that ends a 48 KiB chunk is still padding in the middle of the text.
      const paddedChunk = `${randomBytes(36_863).toString('base64')}${text}`;
      expect(paddedChunk.indexOf('=')).toBe(49_151);
      expect(Base64Text.fromString(paddedChunk)).toBeNull();
      for (const [at, bad] of [[70_000, '-'], [100_001, ' '], [100_002, '_'], [text.length - 5, '='], [3, '\u00e9']] as const) {
        expect(Base64Text.fromString(`${text.slice(0, at)}${bad}${text.slice(at + 1)}`), `${bad} at ${at}`).toBeNull();
      }
      expect(Base64Text.fromString(`${text}A`)).toBeNull();
      expect(Base64Text.fromString(text.slice(0, -1))).toBeNull();
    });

    it('gets the size limit of the string, with the same answer (413)', () => {
      const bytes = randomBytes(3000);
      const text = bytes.toString('base64');
      const fromString = refusal(() => decodeBase64Strict(text, 2999));
      const fromBytes = refusal(() => decodeBase64Strict(checked(text), 2999));
      expect([fromBytes.code, fromBytes.status, fromBytes.message]).toEqual([fromString.code, fromString.status, fromString.message]);
      expect(fromBytes.code).toBe('PAYLOAD_TOO_LARGE');
      expect(decodeBase64Strict(checked(text), 3000).equals(bytes)).toBe(true);
    });
  });

  it('refuses values that are not strings', () => {
    for (const value of [undefined, null, 42, ['QUJD'], { base64: 'QUJD' }]) {
      expect(refusal(() => decodeBase64Strict(value, 1024)).code).toBe('INVALID_BASE64');
    }
  });

  it('never quotes the input in its message', () => {
    const secret = 'U0VDUkVUU0VDUkVU';
    const error = refusal(() => decodeBase64Strict(`${secret} `, 1024));
    expect(error.message).not.toContain(secret);
  });

  it('accepts exactly the limit and refuses one byte more with PAYLOAD_TOO_LARGE (413)', () => {
    const atLimit = randomBytes(300);
    expect(decodeBase64Strict(atLimit.toString('base64'), 300).length).toBe(300);
    for (const size of [301, 302, 303]) {
      const error = refusal(() => decodeBase64Strict(randomBytes(size).toString('base64'), 300));
      expect(error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(error.status).toBe(413);
    }
  });

  it('refuses an oversized text by its length, before looking at its characters', () => {
    const text = `${'A'.repeat(4_000_000)}!!!!`;
    expect(refusal(() => decodeBase64Strict(text, 1_000_000)).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('decodes the empty string to an empty buffer (the inspector refuses it)', () => {
    expect(decodeBase64Strict('', 10).length).toBe(0);
  });

  it('rejects a nonsensical limit', () => {
    expect(() => decodeBase64Strict('QUJD', -1)).toThrow(RangeError);
    expect(() => decodeBase64Strict('QUJD', 1.5)).toThrow(RangeError);
  });
});
