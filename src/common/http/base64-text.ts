/**
 * A Base64 text kept as the bytes of its characters, as the JSON body parser cut it out of the
 * raw request body (src/common/http/json-body.ts), so that a large upload never becomes a JS
 * string: on this kind of machine a one-byte string over ~128 KB costs milliseconds to allocate
 * (V8's large-object space), more than decoding it. It stands for the string it holds everywhere
 * a body value is used:
 * - validation accepts it where a string is expected (`IsBase64Text`),
 * - `toString()` / `toJSON()` give the string itself (slow paths only),
 * - the request hash of an Idempotency-Key feeds its bytes as they are (src/common/http/request-context.ts),
 * - the strict decoder reads it chunk by chunk (decodeBase64Strict).
 *
 * The bytes are held in a private field: nothing walks into them (class-transformer, the
 * biometric-field scan, loggers see an object without keys), and nothing can log them.
 */
export class Base64Text {
  readonly #bytes: Buffer;

  /** `bytes`: the characters of the text, one byte each (the parser only cuts values made of Base64 symbols). */
  constructor(bytes?: Buffer) {
    this.#bytes = bytes ?? Buffer.alloc(0);
  }

  static from(text: string): Base64Text {
    return new Base64Text(Buffer.from(text, 'latin1'));
  }

  /** Characters in the text. */
  get length(): number {
    return this.#bytes.length;
  }

  /** The characters as bytes (not a copy: never modify). */
  get bytes(): Buffer {
    return this.#bytes;
  }

  /** The text as a string (allocates it: avoid on hot paths). */
  toString(): string {
    return this.#bytes.toString('latin1');
  }

  toJSON(): string {
    return this.toString();
  }
}

/** The text of a string or of a Base64Text (allocates the string for the latter). */
export function textOf(value: string | Base64Text): string {
  return typeof value === 'string' ? value : value.toString();
}
