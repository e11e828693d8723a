import { describe, expect, it } from 'vitest';
import { fillRandom } from './random-pool';

describe('fillRandom', () => {
  it('writes fresh bytes where asked and never hands the same bytes out twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const target = Buffer.alloc(20, 0xee);
      fillRandom(target, 4, 12);
      expect(target.subarray(0, 4).equals(Buffer.alloc(4, 0xee))).toBe(true);
      expect(target.subarray(16).equals(Buffer.alloc(4, 0xee))).toBe(true);
      seen.add(target.subarray(4, 16).toString('hex'));
    }
    // 2,000 IVs across several refills of the 4 KiB pool: all different.
    expect(seen.size).toBe(2_000);
  });

  it('draws a request larger than the pool directly', () => {
    const big = Buffer.alloc(10_000);
    fillRandom(big, 0, 10_000);
    expect(big.equals(Buffer.alloc(10_000))).toBe(false);
    // Roughly uniform: no byte value takes more than 2% of the buffer.
    const counts = new Array<number>(256).fill(0);
    for (const b of big) counts[b]++;
    expect(Math.max(...counts)).toBeLessThan(200);
  });
});
