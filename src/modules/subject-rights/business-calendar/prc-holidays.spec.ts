import { describe, expect, it } from 'vitest';
import { BusinessCalendar } from './business-calendar';
import { loadHolidayCalendar } from './holiday-calendar';
import shipped from './prc-holidays.json';

/**
 * The State Council notices, transcribed item by item (period of days off, adjusted working days)
 * independently of the JSON file's flat lists.
 *
 * 2025: 国务院办公厅关于2025年部分节假日安排的通知, 国办发明电〔2024〕12号, 2024-11-12.
 * 2026: 国务院办公厅关于2026年部分节假日安排的通知, 国办发明电〔2025〕7号, 2025-11-04.
 */
const NOTICES: Record<number, { name: string; from: string; to: string; work: string[] }[]> = {
  2025: [
    { name: '元旦', from: '2025-01-01', to: '2025-01-01', work: [] },
    { name: '春节', from: '2025-01-28', to: '2025-02-04', work: ['2025-01-26', '2025-02-08'] },
    { name: '清明节', from: '2025-04-04', to: '2025-04-06', work: [] },
    { name: '劳动节', from: '2025-05-01', to: '2025-05-05', work: ['2025-04-27'] },
    { name: '端午节', from: '2025-05-31', to: '2025-06-02', work: [] },
    { name: '国庆节、中秋节', from: '2025-10-01', to: '2025-10-08', work: ['2025-09-28', '2025-10-11'] },
  ],
  2026: [
    { name: '元旦', from: '2026-01-01', to: '2026-01-03', work: ['2026-01-04'] },
    { name: '春节', from: '2026-02-15', to: '2026-02-23', work: ['2026-02-14', '2026-02-28'] },
    { name: '清明节', from: '2026-04-04', to: '2026-04-06', work: [] },
    { name: '劳动节', from: '2026-05-01', to: '2026-05-05', work: ['2026-05-09'] },
    { name: '端午节', from: '2026-06-19', to: '2026-06-21', work: [] },
    { name: '中秋节', from: '2026-09-25', to: '2026-09-27', work: [] },
    { name: '国庆节', from: '2026-10-01', to: '2026-10-07', work: ['2026-09-20', '2026-10-10'] },
  ],
};
/** Days off stated in each notice ("共N天"), to check the transcription of the ranges. */
const STATED_LENGTHS: Record<number, number[]> = { 2025: [1, 8, 3, 5, 3, 8], 2026: [3, 9, 3, 5, 3, 3, 7] };

const datesOf = (from: string, to: string): string[] => {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
};
const weekday = (date: string): number => new Date(`${date}T00:00:00Z`).getUTCDay();
const isWeekend = (date: string): boolean => weekday(date) === 0 || weekday(date) === 6;

const calendar = loadHolidayCalendar();
const business = new BusinessCalendar(calendar);

describe('prc-holidays.json (the shipped default)', () => {
  it('given the notices, when transcribed, then each period has the length the notice states', () => {
    for (const year of [2025, 2026]) {
      expect(NOTICES[year].map((p) => datesOf(p.from, p.to).length)).toEqual(STATED_LENGTHS[year]);
    }
  });

  it('given the shipped file, when compared with the notices, then every holiday listed is an official day off and none is missing', () => {
    const official = Object.values(NOTICES).flat().flatMap((p) => datesOf(p.from, p.to));
    expect([...calendar.holidays].sort()).toEqual([...official].sort());
  });

  it('given the shipped file, when compared with the notices, then the adjusted working days are exactly the official ones and all fall on a weekend', () => {
    const official = Object.values(NOTICES).flat().flatMap((p) => p.work);
    expect([...calendar.workingDays].sort()).toEqual([...official].sort());
    for (const date of calendar.workingDays) expect(isWeekend(date), `${date} is a weekend day`).toBe(true);
    // spelled out, as the notice does: 1/4 Sun, 2/14 Sat, 2/28 Sat, 5/9 Sat, 9/20 Sun, 10/10 Sat
    expect(['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'].map(weekday)).toEqual([
      0, 6, 6, 6, 0, 6,
    ]);
  });

  it('given the shipped file, when its source is read, then each covered year cites its State Council notice', () => {
    expect(shipped.timeZone).toBe('Asia/Shanghai');
    expect(Object.keys(shipped.source).sort()).toEqual(['2025', '2026']);
    expect(shipped.source['2025']).toContain('国办发明电〔2024〕12号');
    expect(shipped.source['2026']).toContain('国办发明电〔2025〕7号');
    expect(business.coverage()).toEqual({ firstYear: 2025, lastYear: 2026, years: [2025, 2026] });
  });

  it.each([2025, 2026])(
    'given every day of %i, when business days are counted, then the total is 365 − 104 weekend days − 13 statutory holiday days = 248',
    (year) => {
      // 《全国年节及纪念日放假办法》 (2024 revision, from 2025): 元旦 1, 春节 4, 清明 1, 劳动节 2,
      // 端午 1, 中秋 1, 国庆 3 = 13 days. The arrangement moves weekends around but keeps
      // (weekdays off) − (adjusted working days) equal to those 13 days.
      const days = datesOf(`${year}-01-01`, `${year}-12-31`);
      expect(days).toHaveLength(365);
      const weekendDays = days.filter(isWeekend).length;
      expect(weekendDays).toBe(104);
      const statutoryDays = 1 + 4 + 1 + 2 + 1 + 1 + 3;

      const businessDays = days.filter((d) => business.isBusinessDay(d)).length;
      expect(businessDays).toBe(365 - weekendDays - statutoryDays);
      expect(businessDays).toBe(248);

      // and day by day: a day is off exactly when it is a weekend not worked, or a listed holiday
      for (const date of days) {
        const expected = calendar.workingDays.has(date) || (!calendar.holidays.has(date) && !isWeekend(date));
        expect(business.isBusinessDay(date), date).toBe(expected);
      }
    },
  );

  it('given 2026, when weekday holidays and adjusted working days are counted, then they match the notice (19 weekdays off, 6 worked weekend days)', () => {
    const weekdaysOff = NOTICES[2026].flatMap((p) => datesOf(p.from, p.to)).filter((d) => !isWeekend(d));
    expect(weekdaysOff).toHaveLength(19);
    expect(NOTICES[2026].flatMap((p) => p.work)).toHaveLength(6);
    const weekdays = datesOf('2026-01-01', '2026-12-31').filter((d) => !isWeekend(d)).length;
    expect(weekdays - 19 + 6).toBe(248);
  });
});
