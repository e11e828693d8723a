import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, Progress } from './progress';

function output(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns: 200, write: (text: string) => writes.push(text) } };
}

describe('Progress', () => {
  it('on a terminal redraws one bar in place with percentage, count, rate and ETA, at most every interval', () => {
    let now = 0;
    const { writes, out } = output(true);
    const progress = new Progress(out, 'replay', 'events', { now: () => now, ttyIntervalMs: 100 });
    now = 50;
    progress.update(1_000, 0.1);
    expect(writes).toEqual([]);
    now = 1_000;
    progress.update(20_000, 0.25);
    expect(writes).toEqual([`\rreplay [${'#'.repeat(7)}${'-'.repeat(21)}]  25.0% 20,000 events 20,000 events/s ETA 3s`]);
    now = 4_000;
    progress.finish(80_000, 'written to out.ndjson');
    expect(writes[1]).toBe(`\rreplay [${'#'.repeat(28)}] 100.0% 80,000 events 20,000 events/s in 4s, written to out.ndjson\n`);
    progress.finish(80_000);
    expect(writes).toHaveLength(2);
  });

  it('off a terminal prints a plain line every few seconds and a final line', () => {
    let now = 0;
    const { writes, out } = output(false);
    const progress = new Progress(out, 'verify: replay', 'events', { now: () => now, lineIntervalMs: 2_000 });
    now = 1_000;
    progress.update(100, 0.5);
    now = 2_500;
    progress.update(250_000, 0.5);
    now = 5_000;
    progress.update(500_000, null);
    now = 6_000;
    progress.finish(600_000);
    expect(writes).toEqual([
      'verify: replay: 50.0% 250,000 events 100,000 events/s eta 3s\n',
      'verify: replay: 500,000 events 100,000 events/s eta ?\n',
      'verify: replay: 100.0% 600,000 events 100,000 events/s elapsed 6s\n',
    ]);
    expect(writes.join('')).not.toContain('\r');
  });

  it('formats counts and durations', () => {
    expect(formatCount(1234567.4)).toBe('1,234,567');
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});
