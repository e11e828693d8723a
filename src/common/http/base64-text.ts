/**
 * Canonical standard Base64 (RFC 4648 §4) kept as bytes: the characters of the text and what they
 * decode to. The JSON body parser (src/common/http/json-body.ts) makes one for a large upload's
 * Base64 field, so that the upload never becomes a JS string: on this kind of machine a one-byte
 * string over ~128 KB costs 1.5–2 ms to allocate (V8's large-object space), more than all the
 * rest of the decoding. It stands for the string it holds wherever a body value is used:
 * - validation accepts it where the Base64 string is expected (`IsBase64Text`);
 * - `toString()` / `toJSON()` give the string itself (slow paths only);
 * - the request hash of an Idempotency-Key feeds its characters as they are
 *   (src/common/http/request-context.ts);
 * - the strict decoder applies its size limit and hands back the bytes (decodeBase64Strict).
 *
 * Only canonical text becomes a Base64Text (`parse` returns null otherwise, and the body parser
 * then parses the body the ordinary way, so every refusal keeps its code and message). The check
 * and the decoding are native and chunked: each slice of the text is decoded, encoded again and
 * compared, which is exactly "the text is what a canonical encoder writes".
 *
 * Both buffers are held in private fields: nothing walks into them (class-transformer, the
 * biometric-field scan, loggers see an object without keys), and nothing can log them.
 */
export class Base64Text {
  readonly #text: Buffer;
  readonly #decoded: Buffer;

  private constructor(text: Buffer, decoded: Buffer) {
    this.#text = text;
    this.#decoded = decoded;
  }

  /**
   * The Base64Text of `text` (one byte per character, not copied: the caller must not modify
   * it), or null when `text` is not canonical standard Base64: alphabet `A-Z a-z 0-9 + /`, length
   * a multiple of 4, `=` only as the final padding, unused bits zero.
   */
  static parse(text: Buffer): Base64Text | null {
    const length = text.length;
    if (length % 4 !== 0) return null;
    const decoded = Buffer.allocUnsafe((length / 4) * 3);
    let written = 0;
    for (let start = 0; start < length; start += CHUNK) {
      const end = Math.min(start + CHUNK, length);
      const slice = text.toString('latin1', start, end);
      const n = decoded.write(slice, written, 'base64');
      // Padding (fewer bytes than a full group gives) only in the last slice.
      if (end < length && n !== ((end - start) / 4) * 3) return null;
      if (decoded.toString('base64', written, written + n) !== slice) return null;
      written += n;
    }
    return new Base64Text(text, decoded.subarray(0, written));
  }

  /** For tests and callers holding a string: parse of its characters. */
  static fromString(text: string): Base64Text | null {
    return Base64Text.parse(Buffer.from(text, 'latin1'));
  }

  /** Characters in the text. */
  get length(): number {
    return this.#text.length;
  }

  /** The characters as bytes (not a copy: never modify). */
  get text(): Buffer {
    return this.#text;
  }

  /** What the text decodes to (not a copy: never modify). */
  get decoded(): Buffer {
    return this.#decoded;
  }

  /** The text as a string (allocates it: avoid on hot paths). */
  toString(): string {
    return this.#text.toString('latin1');
  }

  toJSON(): string {
    return this.toString();
  }
}

/**
 * Characters decoded per native call: a multiple of 4, and small enough for the slice (and its
 * re-encoding) to be an ordinary string, not a large object.
 */
const CHUNK = 48 * 1024;
