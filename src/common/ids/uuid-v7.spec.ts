import { describe, expect, it } from 'vitest';
import { newId, uuidV7From } from './uuid-v7';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('UUIDv7 ids', () => {
  it('uuidV7From puts the time in the first 48 bits, version 7, variant 10', () => {
    const id = uuidV7From(Date.parse('2026-01-05T00:00:00.000Z'), [0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6]);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(Date.parse('2026-01-05T00:00:00.000Z'));
    expect(id.slice(24)).toBe('010203040506');
  });

  it('newId: valid, unique, and in minting order even within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    for (const id of ids.slice(0, 100)) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    const ms = parseInt(ids[0].slice(0, 8) + ids[0].slice(9, 13), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });
});
