import { describe, expect, it } from 'vitest';
import { BusinessCalendar, RIGHTS_REQUEST_BUSINESS_DAYS } from './business-calendar';
import { loadHolidayCalendar, parseHolidayCalendar } from './holiday-calendar';

const official = new BusinessCalendar(loadHolidayCalendar());
/** The same dates with no holiday file at all: weekends only. */
const weekendsOnly = new BusinessCalendar(parseHolidayCalendar([], 'test: empty list'));

/** End of a Shanghai local date, as the UTC instant the service stores. */
const endOf = (localDate: string): Date => new Date(`${localDate}T23:59:59.999+08:00`);

describe('BusinessCalendar: the deadline rule', () => {
  it('given a request on a Friday evening in Shanghai, when its deadline is computed, then it is the end of the next Friday', () => {
    // given: Friday 2026-03-06 21:30 in Shanghai, 13:30Z the same day
    const receivedAt = new Date('2026-03-06T21:30:00+08:00');
    expect(receivedAt.toISOString()).toBe('2026-03-06T13:30:00.000Z');

    // when
    const dueAt = official.dueAt(receivedAt);

    // then: Mon 9, Tue 10, Wed 11, Thu 12, Fri 13 → end of Friday 13th, Shanghai time
    expect(dueAt.toISOString()).toBe('2026-03-13T15:59:59.999Z');
    expect(dueAt).toEqual(endOf('2026-03-13'));
    expect(official.localDateOf(dueAt)).toBe('2026-03-13');
  });

  it('given 23:30 on a Friday in Shanghai (15:30Z), when the deadline is computed, then the Shanghai Friday is the day of receipt', () => {
    const receivedAt = new Date('2026-03-06T23:30:00+08:00');
    expect(receivedAt.toISOString()).toBe('2026-03-06T15:30:00.000Z');

    expect(official.localDateOf(receivedAt)).toBe('2026-03-06');
    expect(official.dueAt(receivedAt)).toEqual(endOf('2026-03-13'));
  });

  it('given 00:30 on a Saturday in Shanghai while it is still Friday in UTC, when the deadline is computed, then it is a Saturday receipt and counting starts on Monday', () => {
    // given: 2026-03-07 00:30 +08:00 is 2026-03-06T16:30Z, a Friday in UTC
    const receivedAt = new Date('2026-03-07T00:30:00+08:00');
    expect(receivedAt.toISOString()).toBe('2026-03-06T16:30:00.000Z');
    expect(receivedAt.getUTCDay()).toBe(5);

    // when / then: the Shanghai day is Saturday, not a business day; Mon 9 … Fri 13
    expect(official.localDateOf(receivedAt)).toBe('2026-03-07');
    expect(official.isBusinessDay(official.localDateOf(receivedAt))).toBe(false);
    expect(official.dueAt(receivedAt)).toEqual(endOf('2026-03-13'));
  });

  it('given two receipts one hour apart across Shanghai midnight (both Thursday in UTC), when deadlines are computed, then they differ by the Shanghai day', () => {
    // given: Thursday 23:30 and Friday 00:30 in Shanghai; both are Thursday 2026-03-05 in UTC
    const thursdayEvening = new Date('2026-03-05T23:30:00+08:00');
    const fridayMorning = new Date('2026-03-06T00:30:00+08:00');
    expect(thursdayEvening.getUTCDay()).toBe(4);
    expect(fridayMorning.getUTCDay()).toBe(4);

    // then: Thursday receipt → Fri 6, Mon 9 … Thu 12; Friday receipt → Mon 9 … Fri 13
    expect(official.dueAt(thursdayEvening)).toEqual(endOf('2026-03-12'));
    expect(official.dueAt(fridayMorning)).toEqual(endOf('2026-03-13'));
  });

  it('given a receipt at the first or the last millisecond of a Shanghai day, when the deadline is computed, then the time of day does not matter', () => {
    expect(official.dueAt(new Date('2026-03-10T00:00:00.000+08:00'))).toEqual(endOf('2026-03-17'));
    expect(official.dueAt(new Date('2026-03-10T23:59:59.999+08:00'))).toEqual(endOf('2026-03-17'));
    expect(official.dueAt(new Date('2026-03-11T00:00:00.000+08:00'))).toEqual(endOf('2026-03-18'));
  });

  it('given a request received on 2026-09-30, when the deadline is computed, then National Day week is skipped and the adjusted Saturday 10-10 counts', () => {
    // given: Wednesday before 国庆节 (10-01…10-07 off, 10-10 Saturday is a working day)
    const receivedAt = new Date('2026-09-30T10:00:00+08:00');

    // when
    const dueAt = official.dueAt(receivedAt);

    // then: Thu 10-08 (1), Fri 10-09 (2), Sat 10-10 (3, 调休), Mon 10-12 (4), Tue 10-13 (5)
    expect(dueAt).toEqual(endOf('2026-10-13'));
    expect(dueAt.toISOString()).toBe('2026-10-13T15:59:59.999Z');
    expect(official.isBusinessDay('2026-10-10')).toBe(true);
    expect(official.isBusinessDay('2026-10-11')).toBe(false);
    // and without the holiday calendar the same request would be due a week earlier
    expect(weekendsOnly.dueAt(receivedAt)).toEqual(endOf('2026-10-07'));
  });

  it('given a request received the Friday before Mid-Autumn, when the deadline is computed, then the adjusted Sunday 09-20 counts and 09-25 is skipped', () => {
    const receivedAt = new Date('2026-09-18T16:00:00+08:00');
    // Sun 09-20 (1, 调休), Mon 21 (2), Tue 22 (3), Wed 23 (4), Thu 24 (5)
    expect(official.dueAt(receivedAt)).toEqual(endOf('2026-09-24'));
    // received on Saturday 09-19: the adjusted Sunday is still ahead and counts
    expect(official.dueAt(new Date('2026-09-19T09:00:00+08:00'))).toEqual(endOf('2026-09-24'));
    // received on the adjusted Sunday itself (day of receipt does not count):
    // Mon 21, Tue 22, Wed 23, Thu 24, (Fri 25 … Sun 27 off), Mon 28
    expect(official.dueAt(new Date('2026-09-20T09:00:00+08:00'))).toEqual(endOf('2026-09-28'));
  });

  it('given requests around Spring Festival 2026, when deadlines are computed, then the adjusted Saturdays 02-14 and 02-28 count as business days', () => {
    // Fri 02-13: Sat 02-14 (1, 调休), 02-15…02-23 off, Tue 24 (2), Wed 25 (3), Thu 26 (4), Fri 27 (5)
    expect(official.dueAt(new Date('2026-02-13T09:00:00+08:00'))).toEqual(endOf('2026-02-27'));
    // received on the adjusted Saturday itself: the day of receipt still does not count;
    // Tue 24, Wed 25, Thu 26, Fri 27, Sat 28 (调休) → due on a Saturday
    expect(official.dueAt(new Date('2026-02-14T11:00:00+08:00'))).toEqual(endOf('2026-02-28'));
    // Tue 02-24: Wed 25 (1), Thu 26 (2), Fri 27 (3), Sat 28 (4, 调休), Mon 03-02 (5)
    expect(official.dueAt(new Date('2026-02-24T15:00:00+08:00'))).toEqual(endOf('2026-03-02'));
    // during the holiday: counting starts on Tue 02-24
    expect(official.dueAt(new Date('2026-02-17T12:00:00+08:00'))).toEqual(endOf('2026-02-28'));
    expect(official.isBusinessDay('2026-02-14')).toBe(true);
    expect(official.isBusinessDay('2026-02-16')).toBe(false);
    expect(official.isBusinessDay('2026-02-28')).toBe(true);
  });

  it('given a request received late December 2025, when the deadline is computed, then 元旦 2026 is skipped and the adjusted Sunday 2026-01-04 counts', () => {
    // Fri 2025-12-26: Mon 29 (1), Tue 30 (2), Wed 31 (3), 01-01…01-03 off, Sun 01-04 (4, 调休), Mon 01-05 (5)
    expect(official.dueAt(new Date('2025-12-26T18:00:00+08:00'))).toEqual(endOf('2026-01-05'));
  });

  it('given addBusinessDays with other counts, when called, then it follows the same rule', () => {
    const friday = new Date('2026-03-06T21:30:00+08:00');
    expect(official.addBusinessDays(friday, 1)).toEqual(endOf('2026-03-09'));
    expect(official.addBusinessDays(friday, RIGHTS_REQUEST_BUSINESS_DAYS)).toEqual(official.dueAt(friday));
    expect(official.addBusinessDays(friday, 10)).toEqual(endOf('2026-03-20'));
  });

  it('given invalid input, when a deadline is asked for, then it throws a RangeError', () => {
    expect(() => official.addBusinessDays(new Date('2026-03-06T00:00:00Z'), 0)).toThrow(RangeError);
    expect(() => official.addBusinessDays(new Date('2026-03-06T00:00:00Z'), 1.5)).toThrow(RangeError);
    expect(() => official.addBusinessDays(new Date('2026-03-06T00:00:00Z'), -1)).toThrow(RangeError);
    expect(() => official.dueAt(new Date('not a date'))).toThrow(RangeError);
    expect(() => official.isBusinessDay('2026-02-30')).toThrow(/not a real calendar date/);
    expect(() => official.isBusinessDay('2026-3-9')).toThrow(/YYYY-MM-DD/);
  });
});

describe('BusinessCalendar: overdue', () => {
  it('given a due date, when now is exactly the due instant, then it is not overdue; one millisecond later it is', () => {
    const dueAt = official.dueAt(new Date('2026-03-06T21:30:00+08:00'));
    expect(official.isOverdue(dueAt, new Date('2026-03-13T23:59:59.999+08:00'))).toBe(false);
    expect(official.isOverdue(dueAt, new Date('2026-03-14T00:00:00.000+08:00'))).toBe(true);
    expect(official.isOverdue(dueAt, new Date('2026-03-10T12:00:00+08:00'))).toBe(false);
  });
});

describe('BusinessCalendar: coverage', () => {
  it('given the shipped calendar, when coverage is asked, then it covers 2025 and 2026', () => {
    expect(official.coverage()).toEqual({ firstYear: 2025, lastYear: 2026, years: [2025, 2026] });
    expect(official.coversDate('2025-12-31')).toBe(true);
    expect(official.coversDate('2026-07-01')).toBe(true);
    expect(official.coversDate('2027-01-01')).toBe(false);
    expect(official.coversDate('2024-12-31')).toBe(false);
    expect(weekendsOnly.coverage()).toBeNull();
  });

  it('given a date beyond the known years, when a deadline is computed, then weekends are still skipped', () => {
    // Thu 2027-03-04: Fri 5, Mon 8, Tue 9, Wed 10, Thu 11
    const receivedAt = new Date('2027-03-04T10:00:00+08:00');
    expect(official.coversDate(official.localDateOf(receivedAt))).toBe(false);
    expect(official.dueAt(receivedAt)).toEqual(endOf('2027-03-11'));
    expect(official.isBusinessDay('2027-03-06')).toBe(false);
  });

  it('given the current year is covered and New Year is far, when the boot warning is asked, then there is none', () => {
    expect(official.coverageWarning(new Date('2026-06-01T00:00:00Z'))).toBeNull();
    expect(official.coverageWarning(new Date('2025-12-20T00:00:00Z'))).toBeNull();
  });

  it('given late December of the last covered year, when the boot warning is asked, then it names the next year', () => {
    const warning = official.coverageWarning(new Date('2026-12-15T08:00:00+08:00'));
    expect(warning).toContain('does not cover 2027');
    expect(warning).toContain('HOLIDAYS_FILE');
    expect(warning).toContain('2025, 2026');
  });

  it('given a year the calendar does not cover, when the boot warning is asked, then it names that year', () => {
    expect(official.coverageWarning(new Date('2027-03-01T00:00:00Z'))).toContain('does not cover 2027');
    expect(official.coverageWarning(new Date('2024-03-01T00:00:00Z'))).toContain('does not cover 2024');
    expect(weekendsOnly.coverageWarning(new Date('2026-03-01T00:00:00Z'))).toContain('(covered: none)');
  });
});

describe('BusinessCalendar: agrees with an independent Intl-based reference', () => {
  // The reference resolves the Shanghai date with the tz database (Intl) instead of the fixed
  // +08:00 offset, and walks dates as strings.
  const shanghaiDate = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  const cal = loadHolidayCalendar();
  const nextDate = (date: string): string => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const isBusiness = (date: string): boolean => {
    if (cal.workingDays.has(date)) return true;
    if (cal.holidays.has(date)) return false;
    const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
    return weekday >= 1 && weekday <= 5;
  };
  const referenceDue = (receivedAt: Date): Date => {
    let date = shanghaiDate.format(receivedAt);
    for (let counted = 0; counted < 5; ) {
      date = nextDate(date);
      if (isBusiness(date)) counted += 1;
    }
    return new Date(`${date}T23:59:59.999+08:00`);
  };

  it('given every hour (and a minute past each Shanghai midnight) from December 2024 to December 2026, when deadlines are computed, then both agree', () => {
    const start = Date.parse('2024-12-01T00:00:00Z');
    const end = Date.parse('2026-12-31T23:00:00Z');
    let checked = 0;
    for (let t = start; t <= end; t += 3_600_000) {
      for (const receivedAt of [new Date(t), new Date(t + 59_999)]) {
        expect(official.localDateOf(receivedAt)).toBe(shanghaiDate.format(receivedAt));
        expect(official.dueAt(receivedAt)).toEqual(referenceDue(receivedAt));
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(35_000);
  });
});
