/** One figure of a benchmark's closing JSON line: `{"bench":…,"results":[BenchResult…]}`. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  /** events/s, req/s, s, MB, x… */
  readonly unit: string;
  /** The anchor measured in the same run (or the target, where there is no anchor). */
  readonly ceiling: number;
  readonly ratio: number;
}

/** The closing line every benchmark prints, exactly once. */
export function benchLine(bench: string, results: readonly BenchResult[]): string {
  return JSON.stringify({ bench, results });
}
