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
    // The same text as the body parser's bytes: the same refusal, word for word.
    const fromBytes = refusal(() => decodeBase64Strict(Base64Text.from(text), 1024));
    expect([fromBytes.code, fromBytes.status, fromBytes.message]).toEqual([error.code, error.status, error.message]);
  });

  describe('a Base64Text (the bytes the body parser cut out)', () => {
    it('decodes like the string, for every padding and across chunk boundaries', () => {
      for (const length of [0, 1, 2, 3, 4, 5, 36_863, 36_864, 36_865, 110_592, 200 * 1024, 200 * 1024 + 1, 200 * 1024 + 2]) {
        const bytes = randomBytes(length);
        const decoded = decodeBase64Strict(Base64Text.from(bytes.toString('base64')), 1024 * 1024);
        expect(decoded.equals(bytes), `length ${length}`).toBe(true);
      }
    });

    it('refuses a bad character far into the text with the message the string gets (offset included)', () => {
      const text = randomBytes(120_000).toString('base64');
      for (const [at, bad] of [[70_000, '-'], [100_001, ' '], [text.length - 5, '=']] as const) {
        const broken = `${text.slice(0, at)}${bad}${text.slice(at + 1)}`;
        const fromString = refusal(() => decodeBase64Strict(broken, 1024 * 1024));
        const fromBytes = refusal(() => decodeBase64Strict(Base64Text.from(broken), 1024 * 1024));
        expect(fromBytes.message).toBe(fromString.message);
        expect(fromBytes.code).toBe('INVALID_BASE64');
      }
    });

    it('checks the size from the length first, like the string (413)', () => {
      const text = randomBytes(3000).toString('base64');
      expect(refusal(() => decodeBase64Strict(Base64Text.from(text), 2999)).code).toBe('PAYLOAD_TOO_LARGE');
      expect(decodeBase64Strict(Base64Text.from(text), 3000).length).toBe(3000);
      expect(refusal(() => decodeBase64Strict(Base64Text.from(`${'A'.repeat(8000)}!`), 10)).code).toBe('PAYLOAD_TOO_LARGE');
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
