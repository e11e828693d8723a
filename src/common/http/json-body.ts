/**
 * JSON request bodies, parsed from the raw bytes.
 *
 * Most bodies are small and go through the secure parser as they are. An upload is one large
 * Base64 string in a small object: decoding ~270 KB to a JS string, scanning it with JSON.parse and
 * with the prototype-poisoning patterns cost more main-thread time than the rest of the upload.
 * So for a body holding a large Base64 field, the field's value is cut out of the bytes (Base64
 * has no `"` and no `\`, so the value ends at the next quote; a value with any other byte is not
 * cut), the small rest is parsed securely, and the value is put back. The shortcut is
 * taken only when it provably gives the same object as a full parse; anything unusual (the key
 * twice, escapes in the value, the key escaped or nested, the rest not an object) falls back to the
 * full parse. The value is put back as a Base64Text (its bytes, not a string): a 270 KB JS string
 * costs ~1.5–2 ms to allocate here (V8's large-object space), more than decoding it, so the
 * Base64 stays bytes down to the decoder.
 */
import { Base64Text } from './base64-text';

/** Fields cut out of large bodies (all Base64 strings), with the bytes of their quoted key. */
const LARGE_FIELDS: readonly { readonly name: string; readonly key: Buffer }[] = ['imageBase64'].map((name) => ({ name, key: Buffer.from(`"${name}"`, 'latin1') }));
/** Below this size, a body is parsed whole. */
const SHORTCUT_MIN_BYTES = 16 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** Bytes of standard Base64 and its padding: a value with anything else is parsed the slow way (its error then is the full parser's). */
const BASE64_BYTE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=') BASE64_BYTE[c.charCodeAt(0)] = 1;

function onlyBase64Bytes(body: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (BASE64_BYTE[body[i]] === 0) return false;
  return true;
}

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** The [start, end) byte range of the value of the key `needle` (`"field"`) in `body`, when the shortcut applies. */
function largeValueRange(body: Buffer, needle: Buffer): [number, number] | null {
  const at = body.indexOf(needle);
  if (at < 0) return null;
  // The key once only, its opening quote unescaped (not inside a string).
  if (body.indexOf(needle, at + needle.length) >= 0) return null;
  if (at > 0 && body[at - 1] === BACKSLASH) return null;
  let i = at + needle.length;
  while (i < body.length && isJsonSpace(body[i])) i++;
  if (body[i] !== COLON) return null;
  i++;
  while (i < body.length && isJsonSpace(body[i])) i++;
  if (body[i] !== QUOTE) return null;
  const start = i + 1;
  const end = body.indexOf(QUOTE, start);
  if (end < 0) return null;
  if (!onlyBase64Bytes(body, start, end)) return null;
  return [start, end];
}

/**
 * Parses a JSON body with `parseSmall` (the secure parser: throws on invalid JSON or a forbidden
 * key), taking the shortcut above for large Base64 fields.
 */
export function parseJsonBody(body: Buffer, parseSmall: (text: string) => unknown): unknown {
  if (body.length >= SHORTCUT_MIN_BYTES) {
    for (const { name: field, key } of LARGE_FIELDS) {
      const range = largeValueRange(body, key);
      if (!range) continue;
      const [start, end] = range;
      const rest = parseSmall(body.toString('utf8', 0, start) + body.toString('utf8', end));
      // The value replaced by "" must be the top-level field (else: nested, escaped twin, duplicate).
      if (rest === null || typeof rest !== 'object' || Array.isArray(rest) || (rest as Record<string, unknown>)[field] !== '') break;
      (rest as Record<string, unknown>)[field] = new Base64Text(body.subarray(start, end));
      return rest;
    }
  }
  return parseSmall(body.toString('utf8'));
}
