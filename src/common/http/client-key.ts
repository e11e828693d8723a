import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key a client is rate limited under, from its address: an IPv4 address as is (also when
 * written IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by its /64 prefix, because one
 * subscriber usually holds a whole /64 and could otherwise rotate through 2^64 addresses to
 * escape a per-address limit. Anything else (a unix socket, a missing address) as given.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(address)) return address;
  const zoneless = address.split('%')[0];
  if (!isIPv6(zoneless)) return address;
  return `${expandIPv6(zoneless).slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of an IPv6 address (lower case, no leading zeros), an embedded IPv4 tail included. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((h) => parseInt(h, 16).toString(16));
}
