import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusinessCalendar } from './business-calendar';
import { DEFAULT_HOLIDAYS_SOURCE, loadHolidayCalendar, parseHolidayCalendar } from './holiday-calendar';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'holidays-file-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const writeFile = (name: string, content: string): string => {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
};

describe('loadHolidayCalendar', () => {
  it('given no HOLIDAYS_FILE, when loading, then the shipped PRC calendar is used', () => {
    const calendar = loadHolidayCalendar();
    expect(calendar.origin).toBe(DEFAULT_HOLIDAYS_SOURCE);
    expect(calendar.timeZone).toBe('Asia/Shanghai');
    expect(calendar.holidays.has('2026-10-01')).toBe(true);
    expect(calendar.workingDays.has('2026-02-14')).toBe(true);
    expect(loadHolidayCalendar('').origin).toBe(DEFAULT_HOLIDAYS_SOURCE);
  });

  it('given a HOLIDAYS_FILE that is a plain list of dates, when loading, then all are holidays and there are no adjusted working days', () => {
    // given: a company calendar with one extra day off, Monday 2026-03-09
    const file = writeFile('plain.json', JSON.stringify(['2026-03-09', '2026-01-01']));

    // when
    const calendar = loadHolidayCalendar(file);
    const business = new BusinessCalendar(calendar);

    // then
    expect(calendar.origin).toBe(file);
    expect(calendar.source).toBeNull();
    expect([...calendar.holidays]).toEqual(['2026-03-09', '2026-01-01']);
    expect(calendar.workingDays.size).toBe(0);
    expect(business.coverage()).toEqual({ firstYear: 2026, lastYear: 2026, years: [2026] });
    // Friday 2026-03-06 receipt: Tue 10, Wed 11, Thu 12, Fri 13, Mon 16
    expect(business.dueAt(new Date('2026-03-06T21:30:00+08:00'))).toEqual(new Date('2026-03-16T23:59:59.999+08:00'));
    // the official adjusted Saturday is a plain Saturday here
    expect(business.isBusinessDay('2026-02-14')).toBe(false);
  });

  it('given a HOLIDAYS_FILE in the object form, when loading, then holidays, working days and sources are read', () => {
    const file = writeFile(
      'object.json',
      JSON.stringify({
        timeZone: 'Asia/Shanghai',
        source: { '2030': 'a notice' },
        holidays: ['2030-01-01'],
        workingDays: ['2030-01-05'],
      }),
    );
    const calendar = loadHolidayCalendar(file);
    expect(calendar.source).toEqual({ '2030': 'a notice' });
    expect(calendar.years).toEqual([2030]);
    const business = new BusinessCalendar(calendar);
    expect(business.isBusinessDay('2030-01-01')).toBe(false);
    expect(business.isBusinessDay('2030-01-05')).toBe(true);
  });

  it('given a HOLIDAYS_FILE that is not JSON, when loading, then the error names HOLIDAYS_FILE and the file', () => {
    const file = writeFile('broken.json', '["2026-01-01",');
    expect(() => loadHolidayCalendar(file)).toThrow(`Invalid HOLIDAYS_FILE (${file}): not valid JSON`);
  });

  it('given a HOLIDAYS_FILE that does not exist, when loading, then the error names HOLIDAYS_FILE and the file', () => {
    const file = join(dir, 'missing.json');
    expect(() => loadHolidayCalendar(file)).toThrow(`HOLIDAYS_FILE (${file}) cannot be read`);
  });

  it('given a file with a bad date, when loading, then the error names the offending entry', () => {
    const file = writeFile('bad-date.json', JSON.stringify(['2026-01-01', '2026-3-9']));
    expect(() => loadHolidayCalendar(file)).toThrow(
      `Invalid HOLIDAYS_FILE (${file}): holidays[1] "2026-3-9" is not a date in YYYY-MM-DD form`,
    );
  });

  it('given a file with February 30th, when loading, then the error says it is not a real date', () => {
    const file = writeFile('feb-30.json', JSON.stringify({ holidays: ['2026-02-28', '2026-02-30'] }));
    expect(() => loadHolidayCalendar(file)).toThrow(
      `Invalid HOLIDAYS_FILE (${file}): holidays[1] "2026-02-30" is not a real calendar date`,
    );
  });

  it('given a date in both lists, when loading, then the error names that date', () => {
    const file = writeFile('both.json', JSON.stringify({ holidays: ['2026-02-14'], workingDays: ['2026-02-14'] }));
    expect(() => loadHolidayCalendar(file)).toThrow(
      `Invalid HOLIDAYS_FILE (${file}): "2026-02-14" is both in holidays and in workingDays`,
    );
  });
});

describe('parseHolidayCalendar: strict validation', () => {
  const rejects = (json: unknown, message: string) => {
    expect(() => parseHolidayCalendar(json, '/etc/holidays.json')).toThrow(`Invalid HOLIDAYS_FILE (/etc/holidays.json): ${message}`);
  };

  it('given malformed entries, when parsing, then each is rejected with its position and value', () => {
    rejects(['2026-13-01'], 'holidays[0] "2026-13-01" has no such month');
    rejects(['2026-04-31'], 'holidays[0] "2026-04-31" is not a real calendar date');
    rejects(['2026-00-10'], 'holidays[0] "2026-00-10" has no such month');
    rejects(['2026-01-00'], 'holidays[0] "2026-01-00" is not a real calendar date');
    rejects(['2026-01-01T00:00:00Z'], 'holidays[0] "2026-01-01T00:00:00Z" is not a date in YYYY-MM-DD form');
    rejects([20260101], 'holidays[0] 20260101 (number) is not a "YYYY-MM-DD" string');
    rejects(['1969-12-31'], 'holidays[0] "1969-12-31" is before 1970');
    rejects(['2026-01-01', '2026-01-01'], 'holidays[1] "2026-01-01" is listed twice');
    rejects({ holidays: [], workingDays: ['2025-02-29'] }, 'workingDays[0] "2025-02-29" is not a real calendar date');
  });

  it('given a leap day in a leap year, when parsing, then it is accepted', () => {
    expect(parseHolidayCalendar(['2028-02-29'], 'x').holidays.has('2028-02-29')).toBe(true);
  });

  it('given a badly shaped document, when parsing, then it says what is wrong', () => {
    rejects('2026-01-01', 'expected a JSON list of dates or an object with "holidays", got "2026-01-01"');
    rejects(null, 'expected a JSON list of dates or an object with "holidays", got null (object)');
    rejects({ workingDays: [] }, 'the "holidays" list is missing');
    rejects({ holidays: '2026-01-01' }, '"holidays" must be an array of "YYYY-MM-DD" strings, got "2026-01-01"');
    rejects({ holidays: [], workdays: [] }, 'unknown key "workdays" (allowed: timeZone, source, holidays, workingDays)');
    rejects({ timeZone: 'Asia/Tokyo', holidays: [] }, 'timeZone "Asia/Tokyo" is not supported; only "Asia/Shanghai" is');
    rejects({ holidays: [], source: 42 }, '"source" must be a string or an object of strings, got 42 (number)');
    rejects({ holidays: [], source: { '2026': 1 } }, 'source["2026"] must be a string, got 1 (number)');
  });

  it('given an adjusted working day on a weekday, when parsing, then it is rejected', () => {
    rejects({ holidays: [], workingDays: ['2026-02-13'] }, 'workingDays[0] "2026-02-13" is not a Saturday or Sunday');
  });

  it('given a source keyed by year, when a date falls in another year, then it is rejected', () => {
    rejects({ source: { '2026': 'notice' }, holidays: ['2026-01-01', '2062-10-01'] }, '"2062-10-01" is in a year that "source" does not cite');
  });

  it('given a free-text source, when parsing, then any year is accepted', () => {
    const calendar = parseHolidayCalendar({ source: 'company calendar', holidays: ['2031-05-01'] }, 'x');
    expect(calendar.source).toBe('company calendar');
    expect(calendar.years).toEqual([2031]);
  });
});
