const PATTERN = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Parses an ISO-8601 duration of weeks, days, hours, minutes and seconds (`PT24H`, `P7D`,
 * `PT0.5S`) into milliseconds. Years and months are refused: their length varies.
 */
export function parseIsoDuration(text: string): number {
  const match = PATTERN.exec(text.trim());
  if (!match || text.trim() === 'P' || text.trim().endsWith('T')) {
    throw new Error(`"${text}" is not an ISO-8601 duration such as PT24H, P7D or PT30S`);
  }
  const [, w, d, h, m, sec] = match;
  const ms =
    Number(w ?? 0) * 7 * 86_400_000 +
    Number(d ?? 0) * 86_400_000 +
    Number(h ?? 0) * 3_600_000 +
    Number(m ?? 0) * 60_000 +
    Math.round(Number(sec ?? 0) * 1000);
  return ms;
}

export function formatIsoDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `P${ms / 86_400_000}D`;
  const seconds = ms / 1000;
  if (seconds % 3600 === 0 && seconds > 0) return `PT${seconds / 3600}H`;
  if (seconds % 60 === 0 && seconds > 0) return `PT${seconds / 60}M`;
  return `PT${seconds}S`;
}
