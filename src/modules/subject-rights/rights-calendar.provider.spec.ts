import type { FactoryProvider } from '@nestjs/common';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clock.port';
import { loadConfig } from '../config/app-config';
import type { AppLogger } from '../logging/logger';
import { BusinessCalendar } from './business-calendar/business-calendar';
import { businessCalendarProvider } from './rights-calendar.provider';

const factory = (businessCalendarProvider as FactoryProvider<BusinessCalendar>).useFactory as (...args: unknown[]) => BusinessCalendar;

function logger(): { logger: AppLogger; warnings: string[] } {
  const warnings: string[] = [];
  const root = { warn: (_meta: unknown, message: string) => warnings.push(message) };
  return { logger: { root, get: () => root } as unknown as AppLogger, warnings };
}

describe('business calendar wiring (HOLIDAYS_FILE)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('without HOLIDAYS_FILE: the shipped PRC calendar, no warning for a covered year', () => {
    const { logger: log, warnings } = logger();
    const calendar = factory(loadConfig({}), log, new ManualClock('2026-03-02T02:00:00.000Z'));
    expect(calendar.dueAt(new Date('2026-04-30T02:00:00.000Z')).toISOString()).toBe('2026-05-11T15:59:59.999Z');
    expect(warnings).toEqual([]);
  });

  it('with HOLIDAYS_FILE: its dates count; a year it does not cover is logged as a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-cal-'));
    dirs.push(dir);
    const file = join(dir, 'h.json');
    writeFileSync(file, JSON.stringify(['2026-03-10']));
    const { logger: log, warnings } = logger();
    const calendar = factory(loadConfig({ HOLIDAYS_FILE: file }), log, new ManualClock('2026-12-15T00:00:00.000Z'));
    expect(calendar.dueAt(new Date('2026-03-06T12:00:00.000Z')).toISOString()).toBe('2026-03-16T15:59:59.999Z');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/does not cover 2027/);
  });

  it('an invalid HOLIDAYS_FILE stops the boot with a message naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-cal-'));
    dirs.push(dir);
    const file = join(dir, 'h.json');
    writeFileSync(file, JSON.stringify({ holidays: ['2026-02-30'] }));
    expect(() => factory(loadConfig({ HOLIDAYS_FILE: file }), logger().logger, new ManualClock())).toThrow(/Invalid HOLIDAYS_FILE .*2026-02-30/);
    expect(() => factory(loadConfig({ HOLIDAYS_FILE: join(dir, 'missing.json') }), logger().logger, new ManualClock())).toThrow(/HOLIDAYS_FILE .* cannot be read/);
  });
});
