import { fillRandom } from '../random/random-pool';

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUID (RFC 9562, version 7) from a Unix time in ms and 10 bytes of randomness: the time in the
 * first 48 bits, so ids minted later sort later. Pure; `newId` is the service's source of ids.
 */
export function uuidV7From(ms: number, random: ArrayLike<number>): string {
  const t = Math.max(0, Math.floor(ms));
  const high = Math.floor(t / 0x1_0000_0000); // top 16 bits of the 48
  const low = t >>> 0; // bottom 32 bits (t % 2^32)
  let s = HEX[(high >>> 8) & 0xff] + HEX[high & 0xff] + HEX[(low >>> 24) & 0xff] + HEX[(low >>> 16) & 0xff] + '-';
  s += HEX[(low >>> 8) & 0xff] + HEX[low & 0xff] + '-';
  s += HEX[0x70 | (random[0] & 0x0f)] + HEX[random[1] & 0xff] + '-';
  s += HEX[0x80 | (random[2] & 0x3f)] + HEX[random[3] & 0xff] + '-';
  for (let i = 4; i < 10; i++) s += HEX[random[i] & 0xff];
  return s;
}

/** The random part of the id being minted (10 bytes, from the shared pool). */
const random = Buffer.alloc(10);
let lastMs = -1;
let sequence = 0;

/**
 * A new id for an event, a subject, an image, a job, an artwork, a request…: a UUIDv7 from the
 * wall clock. Ids minted one after the other sort in that order (within the same millisecond a
 * 12-bit counter in the random part keeps the order), so the read models' indexes on ids grow at
 * their right edge instead of at a random page: a rebuild from the log and the service's own
 * inserts dirty a few pages per transaction instead of one per row. 62 bits stay random; the
 * time an id reveals is the time of the resource's creation, which its owner is shown anyway.
 *
 * The time is the process's wall clock, not the injected Clock: ids are identifiers, not facts
 * (no decision depends on them), and tests that move the clock must not produce clashing ids.
 */
export function newId(): string {
  fillRandom(random, 0, 10);
  let ms = Date.now();
  if (ms <= lastMs) {
    sequence++;
    if (sequence > 0xfff) {
      lastMs++;
      sequence = 0;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    sequence = random[0] & 0x03; // start low: room for 4,000 ids in the same millisecond
  }
  // The counter takes the 12 bits after the version (rand_a).
  random[0] = (sequence >>> 8) & 0x0f;
  random[1] = sequence & 0xff;
  return uuidV7From(ms, random);
}
