/**
 * Replay benchmark (npm run bench:replay): 1,000,000 synthetic but realistic events (every catalogue
 * type, 50,000 subjects, personal fields as ciphertext) in an embedded event store, then, each in a
 * fresh child process so that its peak RSS is its own:
 *
 *   (a) raw ceiling: a plain ordered scan of the events table with JSON.parse of data and metadata;
 *   (b) projection rebuild: every projection of ALL_PROJECTIONS from position zero into a missing
 *       read-model file, as the service does it (openReadModels: the initial build in bulk, over two
 *       lanes on 2 cores, then the real ProjectionRunner over the real SqliteEventStore
 *       subscription up to the head); and the same build on one thread (lanes: 1);
 *   (b') the same rebuild by the ProjectionRunner alone (WAL, catch-up transactions): what a
 *       projection version change or `npm run audit -- rebuild-projections` does on an existing file;
 *   (c) NDJSON replay of the whole log through the audit endpoint's code path (auditNdjsonStream)
 *       into a null sink, with back-pressure.
 *
 * Prints a table, then exactly one JSON line:
 * `{"bench":"replay","results":[{"name":…,"value":N,"unit":…,"ceiling":N,"ratio":N}]}`. Targets: rebuild >= 100,000 events/s, peak RSS <= 300 MB.
 * BENCH_EVENTS / BENCH_SUBJECTS / BENCH_ROUNDS / BENCH_DIR override the defaults; BENCH_KEEP=1 keeps the
 * generated log, BENCH_EVENTS_FILE=<events.db> reuses one; BENCH_BREAKDOWN=1 (or =a,b for a group as
 * well) also rebuilds every projection alone.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SystemClock } from '../src/modules/clock/clock.port';
import { auditNdjsonStream } from '../src/modules/audit/audit-events/audit-log.reader';
import { SqliteEventStore } from '../src/modules/event-store/sqlite/sqlite-event-store';
import { ALL_PROJECTIONS } from '../src/projections';
import { ProjectionRunner } from '../src/projections/projection-runner';
import { openReadModels } from '../src/projections/initial-build';
import { openReadModelDatabase } from '../src/projections/read-model-database';
import { writeSyntheticLog } from '../test/support/synthetic-log';
import { benchLine } from './bench-result';
import { REPLAY_LOG } from './replay-log';

const { events: EVENTS, subjects: SUBJECTS } = REPLAY_LOG;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const RSS_BUDGET_MB = 300;
const RATE_TARGET = 100_000;

interface PhaseResult {
  readonly phase: string;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** process.resourceUsage().maxRSS of the phase's own process. */
  readonly peakRssMb: number;
  /** RSS sampled during the phase: at 25%, 50%, 75% of the time and at the end. */
  readonly rssSamplesMb: readonly number[];
  readonly bytes?: number;
  /** User + system CPU seconds of the phase (less sensitive than wall time to other load on the machine). */
  readonly cpuSeconds?: number;
  /** Threads the initial build ran on. */
  readonly lanes?: number;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function peakRssMb(): number {
  // Linux reports maxRSS in kilobytes.
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

function sampler(): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(process.memoryUsage().rss), 50);
  return {
    stop() {
      clearInterval(timer);
      samples.push(process.memoryUsage().rss);
      if (samples.length < 4) return samples.map(mb);
      return [0.25, 0.5, 0.75, 1].map((q) => mb(samples[Math.min(samples.length - 1, Math.floor(q * (samples.length - 1)))]));
    },
  };
}

async function phaseCeiling(dir: string): Promise<PhaseResult> {
  const db = new Database(join(dir, 'events.db'), { readonly: true });
  db.pragma('cache_size = -32768');
  const rss = sampler();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  let count = 0;
  let checksum = 0;
  const rows = db.prepare('SELECT position, stream, revision, id, type, data, metadata, created FROM events ORDER BY position').raw(true);
  for (const row of rows.iterate() as IterableIterator<[number, string, number, string, string, string, string, number]>) {
    const data = JSON.parse(row[5]) as Record<string, unknown>;
    const metadata = JSON.parse(row[6]) as Record<string, unknown>;
    if (data && metadata) checksum += row[0] & 1;
    count++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  db.close();
  if (checksum < 0) throw new Error('unreachable');
  return { phase: 'ceiling', events: count, seconds, eventsPerSecond: count / seconds, peakRssMb: peakRssMb(), rssSamplesMb: rss.stop(), cpuSeconds: (used.user + used.system) / 1e6 };
}

async function phaseRebuild(dir: string, only?: string, runnerOnly = false, lanes?: number): Promise<PhaseResult> {
  const file = join(dir, `readmodels-${process.pid}.db`);
  const store = new SqliteEventStore({ file: join(dir, 'events.db'), clock: new SystemClock() });
  const projections = only ? ALL_PROJECTIONS.filter((p) => only.split(',').includes(p.name)) : ALL_PROJECTIONS;
  const rss = sampler();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const opened = runnerOnly ? { db: openReadModelDatabase(file), build: null } : await openReadModels(file, store, projections, { lanes });
  const db = opened.db;
  const runner = new ProjectionRunner(store, db, projections, undefined, {
    catchUpTransactionEvents: process.env.BENCH_TX_EVENTS ? Number(process.env.BENCH_TX_EVENTS) : undefined,
    catchUpTransactionMs: process.env.BENCH_TX_MS ? Number(process.env.BENCH_TX_MS) : undefined,
  });
  runner.start();
  await runner.waitUntilCaughtUp(3_600_000);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const samples = rss.stop();
  const head = await store.headPosition();
  const events = head ? Number(head.commit) : 0;
  const status = runner.status();
  if (status.checkpoint?.commit !== String(events)) throw new Error(`rebuild stopped at ${status.checkpoint?.commit}, head ${events}`);
  await runner.close();
  db.close();
  await store.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  return {
    phase: `${runnerOnly ? 'runner rebuild' : 'rebuild'}${only ? ` ${only}` : ''}`,
    events,
    seconds,
    eventsPerSecond: events / seconds,
    peakRssMb: peakRssMb(),
    rssSamplesMb: samples,
    cpuSeconds: (used.user + used.system) / 1e6,
    lanes: opened.build?.lanes,
  };
}

async function phaseNdjson(dir: string): Promise<PhaseResult> {
  const store = new SqliteEventStore({ file: join(dir, 'events.db'), clock: new SystemClock() });
  let bytes = 0;
  let lines = 0;
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
      callback();
    },
  });
  const rss = sampler();
  const start = process.hrtime.bigint();
  await pipeline(auditNdjsonStream(store, {}), sink);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const samples = rss.stop();
  await store.close();
  return { phase: 'ndjson', events: lines, seconds, eventsPerSecond: lines / seconds, peakRssMb: peakRssMb(), rssSamplesMb: samples, bytes };
}

function runPhase(dir: string, phase: string, only?: string): PhaseResult {
  const out = execFileSync(process.execPath, [__filename, '--phase', phase, dir, ...(only ? [only] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 });
  const line = out.split('\n').find((l) => l.startsWith('PHASE '));
  if (!line) throw new Error(`phase ${phase} printed no result`);
  return JSON.parse(line.slice(6)) as PhaseResult;
}

function best(results: PhaseResult[]): PhaseResult {
  return results.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
}

async function main(): Promise<void> {
  const phaseIndex = process.argv.indexOf('--phase');
  if (phaseIndex >= 0) {
    const phase = process.argv[phaseIndex + 1];
    const dir = process.argv[phaseIndex + 2];
    const run: ((dir: string, only?: string) => Promise<PhaseResult>) | null =
      phase === 'ceiling'
        ? phaseCeiling
        : phase === 'rebuild'
          ? phaseRebuild
          : phase === 'runner-rebuild'
            ? (d: string, o?: string) => phaseRebuild(d, o, true)
            : phase === 'rebuild-one-lane'
              ? (d: string, o?: string) => phaseRebuild(d, o, false, 1)
            : phase === 'ndjson'
              ? phaseNdjson
              : null;
    if (!run) throw new Error(`unknown phase ${phase}`);
    const result = await run(dir, process.argv[phaseIndex + 3]);
    process.stdout.write(`PHASE ${JSON.stringify(result)}\n`);
    return;
  }

  const base = process.env.BENCH_DIR ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'pm-replay-bench-'));
  try {
    if (process.env.BENCH_EVENTS_FILE) {
      // Reuse a log generated by an earlier run (BENCH_KEEP=1 keeps it).
      copyFileSync(process.env.BENCH_EVENTS_FILE, join(dir, 'events.db'));
      process.stderr.write(`reusing ${process.env.BENCH_EVENTS_FILE}\n`);
    } else {
      process.stderr.write(`generating ${EVENTS.toLocaleString('en')} events across ${SUBJECTS.toLocaleString('en')} subjects…\n`);
      const t0 = process.hrtime.bigint();
      const written = writeSyntheticLog(join(dir, 'events.db'), REPLAY_LOG);
      const genSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const fileMb = mb(statSync(join(dir, 'events.db')).size);
      process.stderr.write(`  ${written.events.toLocaleString('en')} events, ${written.streams.toLocaleString('en')} streams, ${fileMb} MB on disk, in ${genSeconds.toFixed(1)} s\n`);
    }

    const ceilings: PhaseResult[] = [];
    const rebuilds: PhaseResult[] = [];
    const runnerRebuilds: PhaseResult[] = [];
    const oneLaneRebuilds: PhaseResult[] = [];
    const ndjsons: PhaseResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}: raw ceiling…\n`);
      ceilings.push(runPhase(dir, 'ceiling'));
      process.stderr.write(`round ${round + 1}/${ROUNDS}: projection rebuild…\n`);
      rebuilds.push(runPhase(dir, 'rebuild'));
      process.stderr.write(`round ${round + 1}/${ROUNDS}: projection rebuild on one thread…\n`);
      oneLaneRebuilds.push(runPhase(dir, 'rebuild-one-lane'));
      process.stderr.write(`round ${round + 1}/${ROUNDS}: projection rebuild by the runner alone…\n`);
      runnerRebuilds.push(runPhase(dir, 'runner-rebuild'));
      process.stderr.write(`round ${round + 1}/${ROUNDS}: NDJSON replay…\n`);
      ndjsons.push(runPhase(dir, 'ndjson'));
    }
    const ceiling = best(ceilings);
    const rebuild = best(rebuilds);
    const runnerRebuild = best(runnerRebuilds);
    const oneLaneRebuild = best(oneLaneRebuilds);
    const oneLanePeak = Math.max(...oneLaneRebuilds.map((r) => r.peakRssMb));
    const runnerRebuildPeak = Math.max(...runnerRebuilds.map((r) => r.peakRssMb));
    const ndjson = best(ndjsons);
    const rebuildPeak = Math.max(...rebuilds.map((r) => r.peakRssMb));
    const ndjsonPeak = Math.max(...ndjsons.map((r) => r.peakRssMb));
    const round2 = (n: number) => Math.round(n * 1000) / 1000;

    const rows: [string, string, string, string][] = [
      ['raw scan + JSON.parse (ceiling)', `${Math.round(ceiling.eventsPerSecond).toLocaleString('en')} events/s`, `${ceiling.peakRssMb} MB peak`, `${ceiling.seconds.toFixed(2)} s`],
      [
        `projection rebuild (${ALL_PROJECTIONS.length} projections, ${rebuild.lanes ?? 1} lanes)`,
        `${Math.round(rebuild.eventsPerSecond).toLocaleString('en')} events/s`,
        `${rebuildPeak} MB peak (RSS ${rebuild.rssSamplesMb.join(' → ')})`,
        `${rebuild.seconds.toFixed(2)} s (${(rebuild.cpuSeconds ?? 0).toFixed(1)} s CPU), ${(rebuild.eventsPerSecond / ceiling.eventsPerSecond).toFixed(2)}× ceiling`,
      ],
      [
        '  the same on one thread (1 lane)',
        `${Math.round(oneLaneRebuild.eventsPerSecond).toLocaleString('en')} events/s`,
        `${oneLanePeak} MB peak`,
        `${oneLaneRebuild.seconds.toFixed(2)} s (${(oneLaneRebuild.cpuSeconds ?? 0).toFixed(1)} s CPU), ${(oneLaneRebuild.eventsPerSecond / ceiling.eventsPerSecond).toFixed(2)}× ceiling`,
      ],
      [
        '  the same by the runner alone (WAL)',
        `${Math.round(runnerRebuild.eventsPerSecond).toLocaleString('en')} events/s`,
        `${runnerRebuildPeak} MB peak`,
        `${runnerRebuild.seconds.toFixed(2)} s, ${(runnerRebuild.eventsPerSecond / ceiling.eventsPerSecond).toFixed(2)}× ceiling`,
      ],
      [
        'NDJSON replay to a null sink',
        `${Math.round(ndjson.eventsPerSecond).toLocaleString('en')} events/s`,
        `${ndjsonPeak} MB peak (RSS ${ndjson.rssSamplesMb.join(' → ')})`,
        `${ndjson.seconds.toFixed(2)} s, ${mb(ndjson.bytes ?? 0)} MB out`,
      ],
    ];
    // Optional: every projection rebuilt alone, to see where the time goes.
    const breakdown: PhaseResult[] = [];
    if (process.env.BENCH_BREAKDOWN) {
      const groups = [...ALL_PROJECTIONS.map((p) => p.name), ...(process.env.BENCH_BREAKDOWN.includes(',') ? [process.env.BENCH_BREAKDOWN] : [])];
      for (const name of groups) {
        process.stderr.write(`breakdown: ${name} alone…\n`);
        const result = runPhase(dir, 'rebuild', name);
        breakdown.push(result);
        rows.push([`  ${name} alone`, `${Math.round(result.eventsPerSecond).toLocaleString('en')} events/s`, `${result.peakRssMb} MB peak`, `${result.seconds.toFixed(2)} s`]);
      }
    }
    const width = rows.reduce((w, r) => r.map((c, i) => Math.max(w[i], c.length)), [0, 0, 0, 0]);
    process.stdout.write(`\nreplay benchmark: ${rebuild.events.toLocaleString('en')} events, ${SUBJECTS.toLocaleString('en')} subjects, best of ${ROUNDS} round(s)\n`);
    for (const r of rows) process.stdout.write(`  ${r.map((c, i) => c.padEnd(width[i])).join('  ')}\n`);
    process.stdout.write(
      `  targets: rebuild >= ${RATE_TARGET.toLocaleString('en')} events/s: ${rebuild.eventsPerSecond >= RATE_TARGET ? 'met' : 'NOT met'}; ` +
        `peak RSS <= ${RSS_BUDGET_MB} MB: rebuild ${rebuildPeak <= RSS_BUDGET_MB ? 'met' : 'NOT met'}, ndjson ${ndjsonPeak <= RSS_BUDGET_MB ? 'met' : 'NOT met'}\n\n`,
    );
    const results = [
      { name: 'projection rebuild', value: Math.round(rebuild.eventsPerSecond), unit: 'events/s', ceiling: Math.round(ceiling.eventsPerSecond), ratio: round2(rebuild.eventsPerSecond / ceiling.eventsPerSecond) },
      { name: 'projection rebuild peak RSS', value: rebuildPeak, unit: 'MB', ceiling: RSS_BUDGET_MB, ratio: round2(rebuildPeak / RSS_BUDGET_MB) },
      { name: 'projection rebuild on one thread', value: Math.round(oneLaneRebuild.eventsPerSecond), unit: 'events/s', ceiling: Math.round(ceiling.eventsPerSecond), ratio: round2(oneLaneRebuild.eventsPerSecond / ceiling.eventsPerSecond) },
      { name: 'projection rebuild by the runner alone', value: Math.round(runnerRebuild.eventsPerSecond), unit: 'events/s', ceiling: Math.round(ceiling.eventsPerSecond), ratio: round2(runnerRebuild.eventsPerSecond / ceiling.eventsPerSecond) },
      { name: 'ndjson replay peak RSS', value: ndjsonPeak, unit: 'MB', ceiling: RSS_BUDGET_MB, ratio: round2(ndjsonPeak / RSS_BUDGET_MB) },
      { name: 'ndjson replay', value: Math.round(ndjson.eventsPerSecond), unit: 'events/s', ceiling: Math.round(ceiling.eventsPerSecond), ratio: round2(ndjson.eventsPerSecond / ceiling.eventsPerSecond) },
    ];
    for (const b of breakdown) {
      results.push({ name: `${b.phase} alone`, value: Math.round(b.eventsPerSecond), unit: 'events/s', ceiling: Math.round(ceiling.eventsPerSecond), ratio: round2(b.eventsPerSecond / ceiling.eventsPerSecond) });
    }
    process.stdout.write(`${benchLine('replay', results)}\n`);
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`replay benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
