/** Where progress goes: a TTY gets a redrawn bar, anything else plain lines. */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** Redraws of the bar at most this often. */
  readonly ttyIntervalMs?: number;
  /** Plain lines at most this often. */
  readonly lineIntervalMs?: number;
  readonly now?: () => number;
}

const BAR_WIDTH = 28;

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Seconds → "1h02m", "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * Progress of a long run on stderr: on a terminal a bar with percentage, count, rate and ETA,
 * redrawn in place; otherwise (a pipe, a log file, CI) one plain line every few seconds and a
 * final line. The fraction comes from the caller (log positions for replays), the rate from the
 * count of items done.
 */
export class Progress {
  private readonly started: number;
  private lastDraw = 0;
  private lastLength = 0;
  private done = 0;
  private fraction: number | null = null;
  private finished = false;
  private readonly now: () => number;
  private readonly ttyIntervalMs: number;
  private readonly lineIntervalMs: number;

  constructor(
    private readonly out: ProgressOutput,
    private readonly label: string,
    private readonly unit = 'events',
    options: ProgressOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now());
    this.ttyIntervalMs = options.ttyIntervalMs ?? 100;
    this.lineIntervalMs = options.lineIntervalMs ?? 2_000;
    this.started = this.now();
    this.lastDraw = this.started;
  }

  /** `done` items so far; `fraction` of the whole (0..1) when known. */
  update(done: number, fraction: number | null): void {
    this.done = done;
    this.fraction = fraction === null ? null : Math.max(0, Math.min(1, fraction));
    const now = this.now();
    const interval = this.out.isTTY ? this.ttyIntervalMs : this.lineIntervalMs;
    if (now - this.lastDraw < interval) return;
    this.lastDraw = now;
    this.draw(false);
  }

  /** Final state (always printed). */
  finish(done: number, note?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.done = done;
    this.fraction = 1;
    this.draw(true, note);
  }

  private rate(): number {
    const seconds = (this.now() - this.started) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }

  private eta(): number | null {
    if (this.fraction === null || this.fraction <= 0) return null;
    const elapsed = (this.now() - this.started) / 1000;
    return (elapsed / this.fraction) * (1 - this.fraction);
  }

  private draw(final: boolean, note?: string): void {
    const rate = `${formatCount(this.rate())} ${this.unit}/s`;
    const elapsed = formatDuration((this.now() - this.started) / 1000);
    const eta = this.eta();
    const pct = this.fraction === null ? '' : `${(this.fraction * 100).toFixed(1)}%`;
    if (this.out.isTTY) {
      const filled = this.fraction === null ? 0 : Math.round(this.fraction * BAR_WIDTH);
      const bar = this.fraction === null ? '' : `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] `;
      const tail = final ? `in ${elapsed}${note ? `, ${note}` : ''}` : `ETA ${eta === null ? '?' : formatDuration(eta)}`;
      let line = `${this.label} ${bar}${pct.padStart(6)} ${formatCount(this.done)} ${this.unit} ${rate} ${tail}`;
      const columns = this.out.columns ?? 120;
      if (!final && line.length > columns - 1) line = line.slice(0, columns - 1);
      const pad = this.lastLength > line.length ? ' '.repeat(this.lastLength - line.length) : '';
      this.lastLength = line.length;
      this.out.write(`\r${line}${pad}${final ? '\n' : ''}`);
      return;
    }
    const parts = [`${this.label}:`, pct, `${formatCount(this.done)} ${this.unit}`, rate, final ? `elapsed ${elapsed}` : `eta ${eta === null ? '?' : formatDuration(eta)}`];
    if (final && note) parts.push(note);
    this.out.write(`${parts.filter(Boolean).join(' ')}\n`);
  }
}
