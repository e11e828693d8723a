import { Base64Text } from '../../../common/http/base64-text';
import { ImageInputError } from './image-input.error';

const NOT_IN_ALPHABET = /[^A-Za-z0-9+/]/;

/** The decoded size of a canonical base64 text of `length` characters with `padding` `=` signs. */
export function decodedLength(length: number, padding: number): number {
  return (length / 4) * 3 - padding;
}

/**
 * Decodes canonical standard base64 (RFC 4648 §4): alphabet `A-Z a-z 0-9 + /`, length a multiple
 * of 4, `=` padding only at the end and exactly as needed, unused bits of the last symbol zero.
 * No whitespace, no line breaks, no `data:` prefix, no URL-safe `-`/`_`.
 *
 * The size is checked before anything is decoded: a text whose decoded size would exceed
 * `maxDecodedBytes` is refused with PAYLOAD_TOO_LARGE (HTTP 413); anything malformed with
 * INVALID_BASE64 (HTTP 400). Messages never quote the input.
 *
 * `text` is a string, or a Base64Text (what the body parser cut out of a large upload: canonical
 * and decoded already, see src/common/http/base64-text.ts), to which only the size limit is left
 * to apply: no large string is ever made.
 */
export function decodeBase64Strict(text: unknown, maxDecodedBytes: number): Buffer {
  if (!Number.isSafeInteger(maxDecodedBytes) || maxDecodedBytes < 0) {
    throw new RangeError('maxDecodedBytes must be a non-negative safe integer');
  }
  if (text instanceof Base64Text) return decodeCheckedText(text, maxDecodedBytes);
  if (typeof text !== 'string') {
    throw new ImageInputError('INVALID_BASE64', 'imageBase64 must be a string of standard base64');
  }

  // Size first, from the length alone: an oversized body is refused without scanning it.
  const upperBound = Math.ceil(text.length / 4) * 3;
  if (upperBound - 2 > maxDecodedBytes) {
    throw new ImageInputError(
      'PAYLOAD_TOO_LARGE',
      `the decoded image would exceed the limit of ${maxDecodedBytes} bytes`,
    );
  }
  if (text.length % 4 !== 0) {
    throw new ImageInputError('INVALID_BASE64', 'imageBase64 length is not a multiple of 4 (padding missing or extra characters)');
  }
  if (text.length === 0) {
    return Buffer.alloc(0);
  }

  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const size = decodedLength(text.length, padding);
  if (size > maxDecodedBytes) {
    throw new ImageInputError(
      'PAYLOAD_TOO_LARGE',
      `the decoded image would exceed the limit of ${maxDecodedBytes} bytes`,
    );
  }

  // Check the text is canonical (alphabet, padding only at the end, unused bits zero), then decode
  // natively. The size was bounded above, so the decode cannot allocate more than the limit.
  if (!isCanonical(text, padding)) throw new ImageInputError('INVALID_BASE64', explainRefusal(text, padding));
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === size) return bytes;
  throw new ImageInputError('INVALID_BASE64', explainRefusal(text, padding));
}

/** decodeBase64Strict of a Base64Text: canonical and decoded already; the same size limit, the same answers. */
function decodeCheckedText(text: Base64Text, maxDecodedBytes: number): Buffer {
  const upperBound = Math.ceil(text.length / 4) * 3;
  if (upperBound - 2 > maxDecodedBytes || text.decoded.length > maxDecodedBytes) {
    throw new ImageInputError('PAYLOAD_TOO_LARGE', `the decoded image would exceed the limit of ${maxDecodedBytes} bytes`);
  }
  return text.decoded;
}

/** Value of each standard base64 symbol, -1 for any other character code below 128. */
const SYMBOL = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (SYMBOL[c.charCodeAt(0)] = i));

/**
 * Every character before the padding in the alphabet, and the bits the padding leaves unused zero
 * (what re-encoding the decoded bytes would check, in one pass over the text and no copy of it).
 */
function isCanonical(text: string, padding: number): boolean {
  const end = text.length - padding;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || SYMBOL[code] < 0) return false;
  }
  if (padding === 0) return true;
  const last = SYMBOL[text.charCodeAt(end - 1)];
  return padding === 1 ? (last & 0x03) === 0 : (last & 0x0f) === 0;
}

/** Why a text is not canonical base64 (for the message only; never quotes the text). */
function explainRefusal(text: string, padding: number): string {
  const body = padding === 0 ? text : text.slice(0, text.length - padding);
  const bad = NOT_IN_ALPHABET.exec(body);
  if (bad) return describeBadCharacter(bad[0], bad.index);
  return 'imageBase64 is not canonical: non-zero bits before the padding';
}

function describeBadCharacter(character: string, offset: number): string {
  const code = character.charCodeAt(0);
  let kind = 'a character outside the standard base64 alphabet';
  if (character === '=') kind = 'padding before the end';
  else if (character === '-' || character === '_') kind = 'a URL-safe base64 character';
  else if (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) kind = 'whitespace';
  else if (character === ':' || character === ';' || character === ',') kind = 'a data: URL prefix or separator';
  return `imageBase64 contains ${kind} at offset ${offset}`;
}
