import { randomBytes } from 'node:crypto';
import { parse as secureParse } from 'secure-json-parse';
import { describe, expect, it } from 'vitest';
import { Base64Text } from './base64-text';
import { parseJsonBody } from './json-body';

const strict = (text: string) => secureParse(text, undefined, { protoAction: 'error', constructorAction: 'error' }) as unknown;
const b64 = randomBytes(30_000).toString('base64');
/** The parsed body with a cut-out Base64Text shown as the string it stands for. */
const asStrings = (value: unknown): unknown =>
  value instanceof Base64Text
    ? value.toString()
    : Array.isArray(value)
      ? value.map(asStrings)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asStrings(v)]))
        : value;
const parse = (text: string) => asStrings(parseJsonBody(Buffer.from(text, 'utf8'), strict));
const full = (text: string) => strict(text);

describe('parseJsonBody', () => {
  it('gives what a full parse gives for an upload body, whatever the key order and spacing', () => {
    for (const text of [
      JSON.stringify({ imageBase64: b64, contentType: 'image/jpeg', purpose: 'photo-restore', faces: [{ x: 1, y: 2, width: 3, height: 4 }] }),
      JSON.stringify({ purpose: 'photo-restore', imageBase64: b64 }),
      `{ "contentType" : "image/png",\n  "imageBase64"\t:  "${b64}" }`,
    ]) {
      expect(parse(text)).toEqual(full(text));
    }
  });

  it('keeps a large Base64 value as the bytes of its text, never as a string', () => {
    const body = parseJsonBody(Buffer.from(JSON.stringify({ purpose: 'photo-restore', imageBase64: b64 }), 'utf8'), strict) as Record<string, unknown>;
    expect(body.imageBase64).toBeInstanceOf(Base64Text);
    expect((body.imageBase64 as Base64Text).length).toBe(b64.length);
    expect((body.imageBase64 as Base64Text).text.equals(Buffer.from(b64, 'latin1'))).toBe(true);
    expect(JSON.stringify(body)).toBe(JSON.stringify({ purpose: 'photo-restore', imageBase64: b64 }));
    expect((body.imageBase64 as Base64Text).decoded.equals(Buffer.from(b64, 'base64'))).toBe(true);
    // Nothing walks into it: no enumerable keys.
    expect(Object.keys(body.imageBase64 as object)).toEqual([]);
  });

  it('small bodies and bodies without the field are parsed whole', () => {
    expect(parse('{"a":1}')).toEqual({ a: 1 });
    const big = JSON.stringify({ note: 'x'.repeat(40_000) });
    expect(parse(big)).toEqual(full(big));
  });

  it('unusual shapes fall back to the full parse and give its result', () => {
    const cases = [
      // The key twice (last wins in JSON.parse), once escaped.
      `{"imageBase64":"${b64}","image\\u0042ase64":"QUJD"}`,
      `{"image\\u0042ase64":"QUJD","imageBase64":"${b64}"}`,
      // Base64 symbols only, but not canonical: left whole to the ordinary parse (and the decoder's own refusal).
      `{"imageBase64":"QQ==${b64}"}`,
      `{"imageBase64":"${b64}A"}`,
      `{"imageBase64":"${b64.slice(0, 400)}-_${b64.slice(402)}"}`,
      // Nested only: no top-level field.
      `{"faces":[{"imageBase64":"${b64}"}]}`,
      // The pattern inside another key (escaped quote before it).
      `{"x\\"imageBase64":"${b64}","image\\u0042ase64":""}`,
      // Escapes or other characters in the value: the full parser decides.
      `{"imageBase64":"${b64.slice(0, 100)}\\n${b64.slice(100)}"}`,
      `{"imageBase64":"${b64.slice(0, 100)} ${b64.slice(100)}"}`,
      `{"imageBase64":"${b64}","note":"é"}`,
    ];
    for (const text of cases) expect(parse(text), text.slice(0, 60)).toEqual(full(text));
  });

  it('invalid JSON and forbidden keys throw as the full parse does', () => {
    const bad = [
      `{"imageBase64":"${b64}"`, // truncated
      `{"imageBase64":"${b64}",}`,
      `{"imageBase64":"${b64.slice(0, 100)}\u0001${b64.slice(100)}"}`, // raw control character
      `{"imageBase64":"${b64}","__proto__":{"admin":true}}`,
      `{"imageBase64":"${b64}","constructor":{"prototype":{}}}`,
      `["imageBase64","${b64}"]`.replace('",', '":'), // not an object / invalid
    ];
    for (const text of bad) {
      expect(() => full(text), text.slice(-40)).toThrow();
      expect(() => parse(text), text.slice(-40)).toThrow();
    }
  });

  it('a body whose top level is not an object is returned as the full parse returns it', () => {
    const text = JSON.stringify([{ imageBase64: b64 }]);
    expect(parse(text)).toEqual(full(text));
  });
});
