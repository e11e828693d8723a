/**
 * The synthetic log the replay benchmarks run on (bench:replay, bench:build-costs): its size
 * (BENCH_EVENTS / BENCH_SUBJECTS override it) and its seed, so that both measure the same log.
 */
export const REPLAY_LOG = {
  events: Number(process.env.BENCH_EVENTS ?? 1_000_000),
  subjects: Number(process.env.BENCH_SUBJECTS ?? 50_000),
  seed: 20260105,
} as const;
