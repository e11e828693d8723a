/**
 * JSON request bodies, parsed from the raw bytes.
 *
 * Most bodies are small and go through the secure parser as they are. An upload is one large
 * Base64 string in a small object: decoding ~270 KB to a JS string, scanning it with JSON.parse and
 * with the prototype-poisoning patterns cost more main-thread time than the rest of the upload.
 * So for a body holding a large Base64 field, the field's value is cut out of the bytes (Base64
 * has no `"` and no `\`, so the value ends at the next quote; a value that is not canonical Base64
 * is not cut), the small rest is parsed securely, and the value is put back. The shortcut is
 * taken only when it provably gives the same object as a full parse; anything unusual (the key
 * twice, escapes in the value, the key escaped or nested, the rest not an object) falls back to the
 * full parse. The value is put back as a Base64Text (its characters and what they decode to,
 * checked and decoded natively, never a string): a 270 KB JS string costs ~1.5–2 ms to allocate
 * here (V8's large-object space), more than decoding it.
 */
import { Base64Text } from './base64-text';

/** Fields cut out of large bodies (all Base64 strings), with the bytes of their quoted key. */
const LARGE_FIELDS: readonly { readonly name: string; readonly key: Buffer }[] = ['imageBase64'].map((name) => ({ name, key: Buffer.from(`"${name}"`, 'latin1') }));
/** Below this size, a body is parsed whole. */
const SHORTCUT_MIN_BYTES = 16 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** The value of the key `needle` (`"field"`) in `body` and its [start, end) byte range, when the shortcut applies. */
function largeValue(body: Buffer, needle: Buffer): { text: Base64Text; start: number; end: number } | null {
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
  // Canonical Base64 only (so no escape, control or non-ASCII byte either): anything else is
  // parsed the ordinary way, and refused or decoded with the ordinary messages.
  const text = Base64Text.parse(body.subarray(start, end));
  return text ? { text, start, end } : null;
}

/**
 * Parses a JSON body with `parseSmall` (the secure parser: throws on invalid JSON or a forbidden
 * key), taking the shortcut above for large Base64 fields.
 */
export function parseJsonBody(body: Buffer, parseSmall: (text: string) => unknown): unknown {
  if (body.length >= SHORTCUT_MIN_BYTES) {
    for (const { name: field, key } of LARGE_FIELDS) {
      const value = largeValue(body, key);
      if (!value) continue;
      const { start, end } = value;
      const rest = parseSmall(body.toString('utf8', 0, start) + body.toString('utf8', end));
      // The value replaced by "" must be the top-level field (else: nested, escaped twin, duplicate).
      if (rest === null || typeof rest !== 'object' || Array.isArray(rest) || (rest as Record<string, unknown>)[field] !== '') break;
      (rest as Record<string, unknown>)[field] = value.text;
      return rest;
    }
  }
  return parseSmall(body.toString('utf8'));
}
