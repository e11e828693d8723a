import { readFileSync } from 'node:fs';
import defaultCalendar from './prc-holidays.json';

/** The only time zone the business calendar supports: China Standard Time, a fixed UTC+08:00 (no DST since 1991). */
export const CALENDAR_TIME_ZONE = 'Asia/Shanghai';

/** Where the shipped default calendar comes from, as named in error messages. */
export const DEFAULT_HOLIDAYS_SOURCE = 'built-in prc-holidays.json';

/**
 * A validated holiday calendar, as `BusinessCalendar` consumes it.
 *
 * - `holidays`: local (Shanghai) dates that are not business days, whatever their weekday.
 *   The shipped file lists every day of each official 放假 period, weekend days included.
 * - `workingDays`: adjusted working days (调休上班): Saturdays or Sundays that are business days.
 * - `years`: the years the file speaks for (sorted, unique); for those years the calendar is
 *   authoritative, outside them only weekends are skipped.
 */
export interface HolidayCalendar {
  readonly timeZone: typeof CALENDAR_TIME_ZONE;
  /** Which official notice each year comes from (object form), or null for a plain list. */
  readonly source: Readonly<Record<string, string>> | string | null;
  readonly holidays: ReadonlySet<string>;
  readonly workingDays: ReadonlySet<string>;
  readonly years: readonly number[];
  /** Where it was loaded from: a file path or `DEFAULT_HOLIDAYS_SOURCE`. */
  readonly origin: string;
}

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ALLOWED_KEYS = ['timeZone', 'source', 'holidays', 'workingDays'] as const;
const YEAR_KEY = /^\d{4}$/;
export const MIN_SUPPORTED_YEAR = 1970;

/**
 * Parses a 'YYYY-MM-DD' local date into its day number (days since 1970-01-01), or returns a
 * reason why it is not a real calendar date.
 */
export function parseLocalDate(value: string): { day: number } | { error: string } {
  const match = LOCAL_DATE.exec(value);
  if (!match) return { error: 'is not a date in YYYY-MM-DD form' };
  const year = Number(match[1]);
  const month = Number(match[2]);
  const dayOfMonth = Number(match[3]);
  if (year < MIN_SUPPORTED_YEAR) return { error: `is before ${MIN_SUPPORTED_YEAR}` };
  if (month < 1 || month > 12) return { error: 'has no such month' };
  const ms = Date.UTC(year, month - 1, dayOfMonth);
  const back = new Date(ms);
  if (dayOfMonth < 1 || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== dayOfMonth) {
    return { error: 'is not a real calendar date' };
  }
  return { day: ms / 86_400_000 };
}

/** 0 = Sunday … 6 = Saturday, for a day number (1970-01-01 was a Thursday). */
export function weekdayOfDay(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

function fail(source: string, problem: string): never {
  throw new Error(`Invalid HOLIDAYS_FILE (${source}): ${problem}`);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `${JSON.stringify(value) ?? String(value)} (${typeof value})`;
}

function readDateList(json: unknown, field: string, source: string): string[] {
  if (!Array.isArray(json)) fail(source, `"${field}" must be an array of "YYYY-MM-DD" strings, got ${describe(json)}`);
  const seen = new Set<string>();
  json.forEach((entry: unknown, index: number) => {
    const where = `${field}[${index}] ${describe(entry)}`;
    if (typeof entry !== 'string') fail(source, `${where} is not a "YYYY-MM-DD" string`);
    const parsed = parseLocalDate(entry);
    if ('error' in parsed) fail(source, `${where} ${parsed.error}`);
    if (seen.has(entry)) fail(source, `${where} is listed twice`);
    seen.add(entry);
  });
  return json as string[];
}

function readSource(json: unknown, source: string): Record<string, string> | string | null {
  if (json === undefined) return null;
  if (typeof json === 'string') return json;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    fail(source, `"source" must be a string or an object of strings, got ${describe(json)}`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(json)) {
    if (typeof value !== 'string') fail(source, `source[${JSON.stringify(key)}] must be a string, got ${describe(value)}`);
    out[key] = value;
  }
  return out;
}

/**
 * Validates a holiday calendar read from `HOLIDAYS_FILE` (or the shipped default).
 *
 * Accepts either
 * - a plain JSON list of dates: `["2026-01-01", …]`, all of them holidays, no adjusted working days; or
 * - the object form `{ "timeZone": "Asia/Shanghai", "source": {...}, "holidays": [...], "workingDays": [...] }`
 *   (`timeZone` and `source` optional, `workingDays` optional, no other keys).
 *
 * Strict: every entry must be a real `YYYY-MM-DD` date, no date may be listed twice or be both a
 * holiday and a working day, every working day must be a Saturday or Sunday, and when `source` is
 * keyed by year every listed date must belong to one of those years. The thrown Error names
 * HOLIDAYS_FILE, `source` and the offending entry.
 *
 * @param source where the JSON came from (a file path), used in error messages.
 */
export function parseHolidayCalendar(json: unknown, source: string): HolidayCalendar {
  let holidays: string[];
  let workingDays: string[] = [];
  let cited: Record<string, string> | string | null = null;

  if (Array.isArray(json)) {
    holidays = readDateList(json, 'holidays', source);
  } else if (json !== null && typeof json === 'object') {
    const record = json as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!(ALLOWED_KEYS as readonly string[]).includes(key)) {
        fail(source, `unknown key ${JSON.stringify(key)} (allowed: ${ALLOWED_KEYS.join(', ')})`);
      }
    }
    if (record.timeZone !== undefined && record.timeZone !== CALENDAR_TIME_ZONE) {
      fail(source, `timeZone ${describe(record.timeZone)} is not supported; only "${CALENDAR_TIME_ZONE}" is`);
    }
    if (!('holidays' in record)) fail(source, 'the "holidays" list is missing');
    holidays = readDateList(record.holidays, 'holidays', source);
    if (record.workingDays !== undefined) workingDays = readDateList(record.workingDays, 'workingDays', source);
    cited = readSource(record.source, source);
  } else {
    fail(source, `expected a JSON list of dates or an object with "holidays", got ${describe(json)}`);
  }

  const holidaySet = new Set(holidays);
  workingDays.forEach((date, index) => {
    if (holidaySet.has(date)) fail(source, `${JSON.stringify(date)} is both in holidays and in workingDays`);
    const parsed = parseLocalDate(date) as { day: number };
    const weekday = weekdayOfDay(parsed.day);
    if (weekday !== 0 && weekday !== 6) {
      fail(source, `workingDays[${index}] ${JSON.stringify(date)} is not a Saturday or Sunday (adjusted working days are weekend days)`);
    }
  });

  const years = new Set<number>();
  for (const date of [...holidays, ...workingDays]) years.add(Number(date.slice(0, 4)));

  if (cited !== null && typeof cited === 'object') {
    const yearKeys = Object.keys(cited).filter((key) => YEAR_KEY.test(key));
    if (yearKeys.length > 0) {
      for (const date of [...holidays, ...workingDays]) {
        if (!(date.slice(0, 4) in cited)) fail(source, `${JSON.stringify(date)} is in a year that "source" does not cite`);
      }
      for (const key of yearKeys) years.add(Number(key));
    }
  }

  return {
    timeZone: CALENDAR_TIME_ZONE,
    source: cited,
    holidays: holidaySet,
    workingDays: new Set(workingDays),
    years: [...years].sort((a, b) => a - b),
    origin: source,
  };
}

/**
 * Loads the holiday calendar: the JSON file at `file` when given (pass `process.env.HOLIDAYS_FILE`),
 * otherwise the shipped official PRC calendar (`prc-holidays.json`). Synchronous: meant for boot.
 */
export function loadHolidayCalendar(file?: string): HolidayCalendar {
  if (file === undefined || file.trim() === '') return parseHolidayCalendar(defaultCalendar, DEFAULT_HOLIDAYS_SOURCE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`HOLIDAYS_FILE (${file}) cannot be read: ${reason}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Invalid HOLIDAYS_FILE (${file}): not valid JSON: ${reason}`, { cause: error });
  }
  return parseHolidayCalendar(json, file);
}
