import { randomBytes } from 'node:crypto';
import { parse as secureParse } from 'secure-json-parse';
import { describe, expect, it } from 'vitest';
import { parseJsonBody } from './json-body';

const strict = (text: string) => secureParse(text, undefined, { protoAction: 'error', constructorAction: 'error' }) as unknown;
const b64 = randomBytes(30_000).toString('base64');
const parse = (text: string) => parseJsonBody(Buffer.from(text, 'utf8'), strict);
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
