/**
 * Build-cost benchmark (npm run bench:build-costs): measures the figures planLanes shares the
 * initial build's lanes out by, on the replay benchmark's log (1,000,000 synthetic events, 50,000
 * subjects, same seed), and prints them next to the values the code declares:
 *
 * - each projection's Projection.buildCost: CPU microseconds of `apply` per event it handles,
 *   timed around every call in a build of its lane;
 * - what each projection does at the end of a build, outside `apply`: its `flush` and its query
 *   indexes (printed on their own so that a plan can be checked);
 * - each lane's reading, as READ_MICROS_PER_EVENT counts it: the lane's CPU time less its
 *   projections' `apply`, per event read (the read from the log, the parse, the applier's
 *   dispatch, the commit with the flushes, the query indexes).
 *
 * The lanes are planned as the service plans them (planLanes with the log's type shares) and built
 * one after the other on this thread, each with its own page cache (as in openReadModels), so the
 * figures do not include what a worker thread adds (WORKER_READ_MICROS_PER_EVENT) nor the copy of
 * the lanes. A timed call costs a little more than an untimed one: the timer's own cost per call,
 * measured in the same run, is taken off.
 *
 * Prints a table, then exactly one JSON line:
 * `{"bench":"build-costs","results":[{"name":…,"value":N,"unit":"us/event","ceiling":N,"ratio":N}]}`,
 * where `ceiling` is the value in the code and `ratio` measured / declared. Times vary with the
 * machine: compare the ratios with each other, run it twice. BENCH_EVENTS / BENCH_SUBJECTS /
 * BENCH_DIR override the defaults; BENCH_EVENTS_FILE=<events.db> reuses a log (BENCH_KEEP=1 keeps
 * the generated one).
 */
import type { Database } from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../src/modules/clock/clock.port';
import type { StoredEvent } from '../src/modules/event-store/event-store.port';
import { SqliteEventStore } from '../src/modules/event-store/sqlite/sqlite-event-store';
import { ALL_PROJECTIONS } from '../src/projections';
import {
  buildFromLog,
  CALLING_LANE_BUILD_CACHE_KIB,
  openBuildDatabase,
  planLanes,
  READ_MICROS_PER_EVENT,
  SCAN_CACHE_KIB,
  WORKER_LANE_BUILD_CACHE_KIB,
} from '../src/projections/initial-build';
import { createQueryIndexes, type Projection } from '../src/projections/projection';
import { writeSyntheticLog } from '../test/support/synthetic-log';
import { benchLine, type BenchResult } from './bench-result';
import { REPLAY_LOG } from './replay-log';

/** Lanes planned, as on the 2-core reference VM. */
const LANES = 2;

interface Timed {
  readonly projection: Projection;
  /** The projection as the lane runs it: `apply` and `flush` timed, query indexes left for later. */
  readonly wrapped: Projection;
  calls: number;
  applyNs: bigint;
  flushNs: bigint;
  indexNs: bigint;
}

function timed(projection: Projection): Timed {
  const t: Timed = {
    projection,
    calls: 0,
    applyNs: 0n,
    flushNs: 0n,
    indexNs: 0n,
    wrapped: {
      ...projection,
      queryIndexes: [],
      apply(db: Database, event: StoredEvent, memo?: Map<string, unknown>) {
        const start = process.hrtime.bigint();
        projection.apply(db, event, memo);
        t.applyNs += process.hrtime.bigint() - start;
        t.calls++;
      },
      flush: projection.flush
        ? (db: Database, memo: Map<string, unknown>) => {
            const start = process.hrtime.bigint();
            projection.flush?.(db, memo);
            t.flushNs += process.hrtime.bigint() - start;
          }
        : undefined,
    },
  };
  return t;
}

/** Nanoseconds a timed call adds to an untimed one (two hrtime reads and the additions). */
function timerOverheadNs(): number {
  let sink = 0n;
  const calls = 1_000_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    sink += process.hrtime.bigint() - t0;
  }
  const perCall = Number(process.hrtime.bigint() - start) / calls;
  // `sink` is read so that the loop is not optimised away.
  return sink < 0n ? 0 : perCall;
}

const seconds = (ns: bigint | number) => Number(ns) / 1e9;
const round2 = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  const base = process.env.BENCH_DIR ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'pm-build-costs-'));
  try {
    let eventsFile = process.env.BENCH_EVENTS_FILE;
    if (!eventsFile) {
      eventsFile = join(dir, 'events.db');
      process.stderr.write(`generating ${REPLAY_LOG.events.toLocaleString('en')} events across ${REPLAY_LOG.subjects.toLocaleString('en')} subjects…\n`);
      writeSyntheticLog(eventsFile, REPLAY_LOG);
    }
    const store = new SqliteEventStore({ file: eventsFile, clock: new SystemClock(), cacheKiB: SCAN_CACHE_KIB });
    const overheadNs = timerOverheadNs();
    const plan = planLanes(ALL_PROJECTIONS, LANES, store.typeShares());
    const rows: string[][] = [];
    const results: BenchResult[] = [];
    for (let lane = 0; lane < plan.length; lane++) {
      const projections = plan[lane].map(timed);
      const file = join(dir, `lane-${lane}.db`);
      const db = openBuildDatabase(file, lane === 0 ? CALLING_LANE_BUILD_CACHE_KIB : WORKER_LANE_BUILD_CACHE_KIB);
      process.stderr.write(`lane ${lane + 1}/${plan.length}: ${plan[lane].map((p) => p.name).join(', ')}…\n`);
      const cpu = process.cpuUsage();
      const { events } = await buildFromLog(
        db,
        store,
        projections.map((p) => p.wrapped),
        Number.POSITIVE_INFINITY,
      );
      // The query indexes, as buildFromLog makes them (its page cache is already the smaller one).
      db.transaction(() => {
        for (const p of projections) {
          const start = process.hrtime.bigint();
          createQueryIndexes(db, p.projection);
          p.indexNs += process.hrtime.bigint() - start;
        }
      })();
      const used = process.cpuUsage(cpu);
      db.close();
      rmSync(file, { force: true });
      const laneSeconds = (used.user + used.system) / 1e6;
      let applied = 0;
      for (const p of projections) {
        const applySeconds = Math.max(0, seconds(p.applyNs) - (p.calls * overheadNs) / 1e9);
        applied += applySeconds;
        const measured = p.calls > 0 ? (applySeconds * 1e6) / p.calls : 0;
        const declared = p.projection.buildCost ?? 1;
        rows.push([
          `  ${p.projection.name}`,
          `${p.calls.toLocaleString('en')} events`,
          `apply ${applySeconds.toFixed(2)} s`,
          `flush ${seconds(p.flushNs).toFixed(2)} s`,
          `query indexes ${seconds(p.indexNs).toFixed(2)} s`,
          `buildCost ${measured.toFixed(2)} µs/event (code: ${declared})`,
        ]);
        results.push({ name: `${p.projection.name} buildCost`, value: round2(measured), unit: 'us/event', ceiling: declared, ratio: round2(measured / declared) });
      }
      const readMicros = events > 0 ? (Math.max(0, laneSeconds - applied) * 1e6) / events : 0;
      rows.push([
        `lane ${lane + 1}: reading`,
        `${events.toLocaleString('en')} events`,
        `${laneSeconds.toFixed(2)} s CPU in all`,
        '',
        '',
        `${readMicros.toFixed(2)} µs/event (code: ${READ_MICROS_PER_EVENT})`,
      ]);
      results.push({ name: `lane ${lane + 1} reading`, value: round2(readMicros), unit: 'us/event', ceiling: READ_MICROS_PER_EVENT, ratio: round2(readMicros / READ_MICROS_PER_EVENT) });
    }
    await store.close();

    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    process.stdout.write(`\nbuild costs: ${plan.length} lane(s), built one after the other on this thread; timer overhead ${overheadNs.toFixed(0)} ns per call, taken off\n`);
    for (const r of rows) process.stdout.write(`${r.map((cell, c) => cell.padEnd(widths[c])).join('  ')}\n`);
    process.stdout.write(`\n${benchLine('build-costs', results)}\n`);
  } finally {
    if (process.env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
