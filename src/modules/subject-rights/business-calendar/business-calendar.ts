import { type HolidayCalendar, parseLocalDate, weekdayOfDay } from './holiday-calendar';

/** A rights request must be answered within this many business days (API.md: `dueAt`). */
export const RIGHTS_REQUEST_BUSINESS_DAYS = 5;

const DAY_MS = 86_400_000;
/** Asia/Shanghai is a fixed UTC+08:00 (no DST since 1991), so no Intl/tz lookup is needed. */
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
/** How far ahead `coverageWarning` looks: longer than any 5-business-day deadline can reach. */
const WARNING_HORIZON_MS = 31 * DAY_MS;

export interface CalendarCoverage {
  readonly firstYear: number;
  readonly lastYear: number;
  /** Every year the calendar speaks for (there may be gaps between first and last). */
  readonly years: readonly number[];
}

/**
 * Business days for the data-subject rights deadlines, in `Asia/Shanghai` local dates.
 *
 * A local date is a business day when it is an adjusted working day (调休上班) of the calendar, or
 * when it is a Monday–Friday that is not a listed holiday.
 *
 * Deadline rule (`addBusinessDays`, `dueAt`):
 * 1. The request's receipt instant is converted to its Shanghai local date (UTC+08:00); that is
 *    the day of receipt, whatever the UTC date is (2026-03-07T00:30+08:00 is a Saturday receipt
 *    even though it is still Friday in UTC).
 * 2. The day of receipt never counts, whether or not it is a business day and whatever the time.
 * 3. Counting starts with the next business day after the day of receipt; the deadline is the
 *    end of the n-th business day: 23:59:59.999 Shanghai time on that date, i.e. 15:59:59.999Z,
 *    returned as a UTC `Date`.
 * 4. Years the calendar does not cover are counted with weekends only (no holidays, no adjusted
 *    working days); `coversDate` / `coverageWarning` tell the caller when that happens.
 *
 * A request is overdue when `now` is strictly after its `dueAt`.
 *
 * Pure: no clock, no I/O; every method is O(days counted) with Set lookups on day numbers.
 */
export class BusinessCalendar {
  private readonly holidays: ReadonlySet<number>;
  private readonly workingDays: ReadonlySet<number>;
  private readonly years: ReadonlySet<number>;
  private readonly sortedYears: readonly number[];

  constructor(readonly calendar: HolidayCalendar) {
    this.holidays = new Set([...calendar.holidays].map(toDayNumber));
    this.workingDays = new Set([...calendar.workingDays].map(toDayNumber));
    this.years = new Set(calendar.years);
    this.sortedYears = [...calendar.years].sort((a, b) => a - b);
  }

  /** Whether a Shanghai local date ('YYYY-MM-DD') is a business day. Throws RangeError on a bad date. */
  isBusinessDay(localDate: string): boolean {
    return this.isBusinessDayNumber(toDayNumber(localDate));
  }

  /** The Shanghai local date ('YYYY-MM-DD') of an instant. */
  localDateOf(instant: Date): string {
    return formatDayNumber(localDayOf(instant));
  }

  /**
   * The end (23:59:59.999 Shanghai) of the n-th business day after the Shanghai day of
   * `receivedAt`; the day of receipt itself never counts. See the class comment for the rule.
   * @param n a positive integer.
   */
  addBusinessDays(receivedAt: Date, n: number): Date {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
    let day = localDayOf(receivedAt);
    let counted = 0;
    while (counted < n) {
      day += 1;
      if (this.isBusinessDayNumber(day)) counted += 1;
    }
    return new Date((day + 1) * DAY_MS - SHANGHAI_OFFSET_MS - 1);
  }

  /** The answer deadline of a rights request: `addBusinessDays(receivedAt, 5)`. */
  dueAt(receivedAt: Date): Date {
    return this.addBusinessDays(receivedAt, RIGHTS_REQUEST_BUSINESS_DAYS);
  }

  /** True when `now` is strictly after `dueAt` (at 23:59:59.999 exactly it is still on time). */
  isOverdue(dueAt: Date, now: Date): boolean {
    return now.getTime() > dueAt.getTime();
  }

  /** The first and last year the holiday calendar speaks for, or null when it lists nothing. */
  coverage(): CalendarCoverage | null {
    if (this.sortedYears.length === 0) return null;
    return {
      firstYear: this.sortedYears[0],
      lastYear: this.sortedYears[this.sortedYears.length - 1],
      years: this.sortedYears,
    };
  }

  /** Whether the holiday calendar speaks for the year of this Shanghai local date. */
  coversDate(localDate: string): boolean {
    toDayNumber(localDate);
    return this.years.has(Number(localDate.slice(0, 4)));
  }

  /**
   * A message for the boot log when the calendar does not cover the current Shanghai year, or
   * the next year while a deadline computed now could already fall in it (within 31 days);
   * null when all is covered. Pass the injected Clock's `now()`.
   */
  coverageWarning(now: Date): string | null {
    const missing = new Set<number>();
    for (const instant of [now, new Date(now.getTime() + WARNING_HORIZON_MS)]) {
      const year = yearOfDay(localDayOf(instant));
      if (!this.years.has(year)) missing.add(year);
    }
    if (missing.size === 0) return null;
    const known = this.sortedYears.length > 0 ? this.sortedYears.join(', ') : 'none';
    return (
      `The holiday calendar (${this.calendar.origin}) does not cover ${[...missing].join(' and ')} ` +
      `(covered: ${known}); rights-request deadlines in those years skip weekends only. ` +
      `Add the State Council holiday notice for ${[...missing].join(' and ')} to HOLIDAYS_FILE.`
    );
  }

  private isBusinessDayNumber(day: number): boolean {
    if (this.workingDays.has(day)) return true;
    if (this.holidays.has(day)) return false;
    const weekday = weekdayOfDay(day);
    return weekday !== 0 && weekday !== 6;
  }
}

function localDayOf(instant: Date): number {
  const ms = instant.getTime();
  if (Number.isNaN(ms)) throw new RangeError('Invalid Date');
  return Math.floor((ms + SHANGHAI_OFFSET_MS) / DAY_MS);
}

function toDayNumber(localDate: string): number {
  const parsed = parseLocalDate(localDate);
  if ('error' in parsed) throw new RangeError(`${JSON.stringify(localDate)} ${parsed.error}`);
  return parsed.day;
}

function formatDayNumber(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function yearOfDay(day: number): number {
  return new Date(day * DAY_MS).getUTCFullYear();
}
