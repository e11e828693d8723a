import Database, { type Database as Db } from 'better-sqlite3';
import { closeSync, existsSync, fsync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { EventStore, StoredEvent } from '../modules/event-store/event-store.port';
import { SystemClock } from '../modules/clock/clock.port';
import { SqliteEventStore } from '../modules/event-store/sqlite/sqlite-event-store';
import { ALL_PROJECTIONS } from './index';
import { createQueryIndexes, type Projection } from './projection';
import { ProjectionApplier } from './projection-applier';
import { configureReadModelConnection, openReadModelDatabase, setReadModelPageSize } from './read-model-database';

/**
 * Opening this instance's read models, building them in bulk when the file does not exist yet.
 *
 * A missing read-model file (a new instance, a new DATA_DIR over an existing log, or the file
 * removed to have it rebuilt) used to be filled by the projection runner from position zero:
 * WAL mode, a commit every 2,000 events. Random index pages are then written again at every
 * commit, once to the WAL and once more by the checkpoints (20 GB written for 1,000,000 events).
 * Nobody reads a file that does not exist yet, so it is built first, before the service uses it:
 * no journal, no fsync, one transaction (dirty pages are written once, when the cache spills or
 * at the end; smaller transactions measured slower: 250k events 13.2 s, 20k events 18 s, one 12.5 s
 * for the lane that holds the history), the same projections through the same ProjectionApplier,
 * checkpoints in the same transaction as the rows, and the indexes only readers use
 * (Projection.queryIndexes) created at the end, each by one sort of its finished table rather than
 * grown in random order. At the end the file is made durable (an fsync of what the build wrote,
 * then the marker's removal and a second fsync; the file is also fsynced in the background while
 * it is built, so the first finds little left), turned to WAL and handed to the runner, which
 * goes on live from the checkpoints.
 *
 * The build is spread over lanes (OpenReadModelsOptions.lanes): on 2 cores, two threads, each
 * building its projections into its own file with its own page cache and reading only the event
 * types they handle; the worker lane's tables are then copied into the read-model file whole
 * (SQLite's transfer of records and index entries in order). planLanes shares the projections out
 * by cost (on the bench's log: the retention ledger, images, artworks and consent ledger on one
 * thread, the history, jobs, access log, subjects and requests on the other).
 *
 * Without a journal a crash mid-build can leave the file inconsistent, so the build is marked: a
 * table BUILD_MARKER is committed (and fsynced) first, everything the build wrote is fsynced, and
 * only then is the marker dropped by a last, fsynced commit of its own. A file found
 * with the marker (or one SQLite calls corrupt or not a database) is a read model that can be
 * rebuilt, and is: it is removed and built again. If the log cannot be read (the store is down),
 * the partial file is removed and a fresh one is opened for the runner, which catches up when the
 * store is back.
 *
 * Event listeners of the runner do not hear of the events of an initial build (as after a restart
 * over an existing file): the sagas' own sweeps cover what the log already holds.
 */
export interface InitialBuild {
  /** Events of the log the build applied (each lane reads the types its projections handle; the sum over lanes). */
  readonly events: number;
  readonly seconds: number;
  /** Threads the build ran on (see OpenReadModelsOptions.lanes). */
  readonly lanes: number;
}

export interface OpenReadModelsOptions {
  readonly log?: Logger;
  /** Events per build transaction (default: the whole build in one). */
  readonly transactionEvents?: number;
  /**
   * Told how far in the log every lane has come (the lowest lane position, as a number): every
   * PROGRESS_EVENTS events a lane reads, at every commit, and at the end.
   */
  readonly onProgress?: (position: number) => void;
  /**
   * Threads the build is spread over (default: 2 on a machine with 2 cores or more, else 1). Each
   * lane builds some of the projections into a file of its own, reading from the log only the
   * event types they handle (planLanes balances the lanes by the cost of each projection and of
   * its reading); the lanes' tables are then copied into the read-model file. Lanes past the first
   * run on worker threads, which open the embedded store's file themselves: with another store
   * (EventStoreDB), or without the compiled worker script, the build runs on this thread alone.
   */
  readonly lanes?: number;
  /** The compiled initial-build.worker.js; default: the one beside this module (the build). */
  readonly workerScript?: string;
}

export const BUILD_MARKER = 'read_model_initial_build';
const PROGRESS_EVENTS = 100_000;
const BUILD_PAGE_EVENTS = 1_000;
/**
 * Page cache of a lane's read-model connection (each lane has its own: one per thread). The lane
 * on the calling thread holds the history, whose rows are appended (a page is written once), so
 * it needs less than the worker lanes, which update rows all over their tables (the retention
 * ledger closes an original days of log after it opened it): past its cache, each such update
 * reads a page back and writes one out. On the bench's log the ledger's lane read 3.6 GB back and
 * wrote 2.0 GB for a 230 MB file with 40 MB of cache, 1.8 and 1.0 GB with 64 MB; the calling
 * thread's lane read back 130 MB with 40 MB. Measured in three interleaved rounds, 32 and 64 MB
 * against 40 and 40: 4 to 6% less time, peak RSS 273–281 MB against 256–259 MB. (Counted again
 * with strace once the ledger's deferred erasures and query indexes were in: the worker lane read
 * 0.6 GB back and wrote 0.5 GB with 64 MB, most of it at its end, when the query indexes' sorts
 * read the tables again after the cache is let go; the ledger alone with 64, 128 and 256 MB read
 * back 318, 254 and 246 MB.)
 *
 * The worker lane's 80 MB are paid for by its young generation (WORKER_YOUNG_GENERATION_MB): 16 MB
 * of young generation alone took 13 to 17 MB off the build's peak RSS at the same speed; with
 * 80 MB of cache instead of 64 the peak was back where it was (265–273 MB). Five interleaved pairs
 * of builds on the bench's log: 9.57–12.68 s (median 10.20) against 9.84–12.49 s (median 10.36);
 * the worker's projections' `apply` took less time in four pairs of five (0.5 to 20% less, 2.5%
 * more in the fifth).
 */
export const CALLING_LANE_BUILD_CACHE_KIB = 32_768;
export const WORKER_LANE_BUILD_CACHE_KIB = 81_920;
/**
 * A worker lane's young generation (V8's nursery, `resourceLimits.maxYoungGenerationSizeMb`).
 * The default gives a worker thread more than it needs: the lane's objects live for one page of
 * events, or in the projections' memos (old generation).
 */
const WORKER_YOUNG_GENERATION_MB = 16;
/** Page cache of a build on one lane (all the projections on one thread, one cache). */
const SINGLE_LANE_BUILD_CACHE_KIB = 65_536;
/** How often the file being built is fsynced in the background (EarlyFlush). */
const FLUSH_INTERVAL_MS = 1_000;
/**
 * Page cache of a lane once its events are applied: its query indexes' sorts and the copy of the
 * lanes. A sort keeps in memory as much as the page cache (and at least 250 pages: 4 MB at
 * READ_MODEL_PAGE_SIZE), sorts each such run, writes it to a temporary file and merges the runs.
 * Smaller runs sort faster (they fit the CPU's caches) and the merge streams from the page cache of
 * the OS. Measured on the bench's log, three interleaved builds each: the worker lane's query
 * indexes took 0.34–0.39 s with 2 MB against 0.47–0.51 s with 8 MB (0.43–0.68 s with 16 and 32 MB),
 * the calling thread's 0.20–0.22 against 0.25–0.28 s, and peak RSS was 8 to 10 MB lower. Sorting in
 * memory (`temp_store = MEMORY`) was slower: 0.47–0.58 s.
 */
const INDEX_CACHE_KIB = 2_048;
const DEFAULT_WORKER_SCRIPT = join(__dirname, 'initial-build.worker.js');
/** Page cache of a connection that only scans the log once (every page is read once). */
export const SCAN_CACHE_KIB = 2_048;

export async function openReadModels(
  file: string,
  store: EventStore,
  projections: readonly Projection[],
  options: OpenReadModelsOptions = {},
): Promise<{ db: Db; build: InitialBuild | null }> {
  if (file === ':memory:') return { db: openReadModelDatabase(file), build: null };
  discardUnusableFile(file, options.log);
  if (existsSync(file)) return { db: openReadModelDatabase(file), build: null };

  mkdirSync(dirname(file), { recursive: true });
  removeLaneFiles(file);
  const db = openBuildDatabase(file);
  try {
    // The marker is on the disk before anything else of the build.
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE ${BUILD_MARKER} (started INTEGER NOT NULL)`);
    db.prepare(`INSERT INTO ${BUILD_MARKER} (started) VALUES (1)`).run();
    db.pragma('synchronous = OFF');
    const flush = new EarlyFlush(file);
    const build = await buildInLanes(db, file, store, projections, options, () => flush.now()).finally(() => flush.stop());
    // Without a journal a commit writes its pages in place and then fsyncs the file, so the order
    // of those writes on the disk is the kernel's: the marker's removal must not be among the
    // writes of the fsync that makes the build's pages durable (a power cut in between could leave
    // an unmarked, half-written file). First a commit that only fsyncs what the build wrote...
    db.pragma('synchronous = FULL');
    db.prepare(`UPDATE ${BUILD_MARKER} SET started = started + 1`).run();
    // ...then the marker goes, in a commit of its own, and the file is an ordinary read model.
    db.pragma('locking_mode = NORMAL'); // the exclusive lock goes with the next commit
    db.exec(`DROP TABLE ${BUILD_MARKER}`);
    db.pragma('journal_mode = WAL');
    configureReadModelConnection(db);
    if (build.events > 0) options.log?.info({ events: build.events, lanes: build.lanes, seconds: Math.round(build.seconds * 10) / 10 }, 'read models built from the log');
    return { db, build };
  } catch (error) {
    db.close();
    removeDatabaseFiles(file);
    options.log?.warn({ err: { type: (error as Error)?.name, message: (error as Error)?.message } }, 'initial build of the read models failed; the projection runner catches up instead');
    return { db: openReadModelDatabase(file), build: null };
  }
}

/**
 * Hands what the build has written so far to the disk while the build goes on: an fsync of the
 * file on the thread pool every FLUSH_INTERVAL_MS, one at a time, and one after each table the
 * copy of the lanes writes (`now`), so that the fsync ending the build finds little left to write
 * (it had the whole file: most of a second for 1,000,000 events; after the copy, 0.25 s).
 * Nothing relies on these: the build's durability is still the commit that ends it, before the
 * marker goes. Errors are left to that commit's fsync to report.
 */
class EarlyFlush {
  private readonly fd: number;
  private readonly timer: NodeJS.Timeout;
  private inFlight: Promise<void> | null = null;
  /** fsyncs started by `now` (the copy of the lanes), all awaited by `stop`. */
  private readonly started: Promise<void>[] = [];

  constructor(file: string) {
    this.fd = openSync(file, 'r');
    this.timer = setInterval(() => this.kick(), FLUSH_INTERVAL_MS);
  }

  /**
   * Starts an fsync at once, even from synchronous code that holds the event loop (the copy of
   * the lanes, between two tables): the thread pool runs it while the copy goes on, and the
   * other core, idle once the lanes are done, writes the tables already copied.
   */
  now(): void {
    this.started.push(this.flushFile());
  }

  private kick(): void {
    if (this.inFlight) return;
    this.inFlight = this.flushFile().then(() => {
      this.inFlight = null;
    });
  }

  /** An fsync of the file on the thread pool; settles when it is done, whatever its outcome. */
  private flushFile(): Promise<void> {
    return new Promise<void>((resolve) => fsync(this.fd, () => resolve()));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.inFlight, ...this.started]);
    closeSync(this.fd);
  }
}

/**
 * A connection for building a file nobody else reads yet: no journal, no fsync, an exclusive lock
 * (another connection gets SQLITE_BUSY instead of a half-built file: another instance
 * misconfigured onto the same file, the audit CLI), deleted rows overwritten as in the live file.
 */
export function openBuildDatabase(file: string, cacheKiB = SINGLE_LANE_BUILD_CACHE_KIB): Db {
  const db = new Database(file);
  try {
    // better-sqlite3 opens connections in SQLite's defensive mode, which silently keeps the
    // rollback journal when asked for none: lifted for this one pragma, and checked.
    setReadModelPageSize(db);
    db.unsafeMode(true);
    const mode = db.pragma('journal_mode = OFF', { simple: true });
    db.unsafeMode(false);
    if (mode !== 'off') throw new Error(`the build file refused journal_mode=OFF (got ${String(mode)})`);
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('secure_delete = ON');
    db.pragma(`cache_size = -${cacheKiB}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * CPU microseconds a lane spends on each event it reads, besides applying it: the read from the
 * log, the parse, the applier's dispatch, its share of the commit and of the query indexes.
 * Measured on the bench's log: a lane's seconds less its projections' time in `apply`, over the
 * events it read: 4.8 to 4.9 on the calling thread, 0.6 more on a worker thread (which starts,
 * loads the modules and opens the store first).
 */
export const READ_MICROS_PER_EVENT = 4.9;
const WORKER_READ_MICROS_PER_EVENT = 0.6;
/**
 * CPU microseconds the calling thread spends, once every lane is done, copying into the
 * read-model file what a worker lane's projections wrote for one event they handled (mergeLane).
 * Measured on the bench's log: 0.33 to 0.62 s for 766,000 to 924,000 events handled.
 */
const COPY_MICROS_PER_EVENT = 0.65;
/**
 * Plans whose builds end this close are taken as equal: the one with less work in all wins. At 2%
 * the bench's log kept the artworks on the calling thread's lane (a plan 1.7% later by the
 * model, with 0.03 s less work), and that lane ended 0.4 to 0.8 s after the worker's in every
 * trace.
 */
const PLAN_TOLERANCE = 0.01;
/** Plans up to this many assignments of projections to lanes are all tried; past it, a greedy plan. */
const MAX_PLANS_TRIED = 4_096;

/**
 * Which projections each lane builds, so that the build ends as soon as can be. A lane's cost is
 * its projections' Projection.buildCost for the events they handle, plus reading every event of
 * the types any of them handles: a projection whose events a lane reads anyway costs less there.
 * The build ends when the slowest lane has, and the calling thread has then copied the other
 * lanes' tables (COPY_MICROS_PER_EVENT for each event their projections handled): so a plan costs
 * its slowest lane plus those copies, and the worker lanes should end before the calling thread's.
 * `shares` is each event type's share of the log (SqliteEventStore.typeShares); without it every
 * type counts the same. Every plan is tried when there are few (two lanes and a dozen
 * projections: 4,096), the soonest end and, between plans about as soon, the least work in all;
 * otherwise the heaviest projection first, each to the lane it costs least.
 */
export function planLanes(projections: readonly Projection[], lanes: number, shares?: ReadonlyMap<string, number>): Projection[][] {
  const count = Math.max(1, Math.min(lanes, projections.length));
  const share = typeShareOf(projections, shares);
  /** Each projection's share of the log's events (those of its types), and its cost for them. */
  const handled = projections.map((p) => p.eventTypes.reduce((sum, t) => sum + share(t), 0));
  const own = projections.map((p, i) => (p.buildCost ?? 1) * handled[i]);
  const laneCost = (members: readonly number[], worker: boolean): number => {
    const types = new Set(members.flatMap((i) => projections[i].eventTypes));
    const read = READ_MICROS_PER_EVENT + (worker ? WORKER_READ_MICROS_PER_EVENT : 0);
    let cost = 0;
    for (const t of types) cost += read * share(t);
    for (const i of members) cost += own[i];
    return cost;
  };
  const laneHandled = (lane: readonly number[]) => lane.reduce((sum, i) => sum + handled[i], 0);
  /** When a plan's build ends, and its work in all: the slowest lane, then the copies of the others. */
  const planCost = (plan: readonly (readonly number[])[]): { end: number; total: number } => {
    const copied = plan.map(laneHandled);
    // The calling thread's lane (its tables are not copied) is the one handling the most events.
    const calling = copied.indexOf(Math.max(...copied));
    const costs = plan.map((lane, k) => laneCost(lane, k !== calling));
    const copies = copied.reduce((sum, n, lane) => (lane === calling ? sum : sum + COPY_MICROS_PER_EVENT * n), 0);
    return { end: Math.max(...costs) + copies, total: costs.reduce((sum, c) => sum + c, 0) + copies };
  };
  let best: number[][];
  if (count ** projections.length <= MAX_PLANS_TRIED) {
    best = [projections.map((_, i) => i)];
    let { end: bestEnd, total: bestTotal } = planCost(best);
    const assignment = projections.map(() => 0);
    // Every assignment, the first projection always in lane 0 (lanes are interchangeable): the
    // soonest end; between plans as soon within PLAN_TOLERANCE, less work in all.
    for (;;) {
      let k = projections.length - 1;
      while (k > 0 && assignment[k] === count - 1) assignment[k--] = 0;
      if (k === 0) break;
      assignment[k]++;
      const plan = Array.from({ length: count }, (_, lane) => projections.map((_, i) => i).filter((i) => assignment[i] === lane));
      const { end, total } = planCost(plan);
      const sooner = end < bestEnd * (1 - PLAN_TOLERANCE);
      const asSoon = end <= bestEnd * (1 + PLAN_TOLERANCE);
      if (sooner || (asSoon && total < bestTotal - 1e-9)) {
        best = plan;
        bestEnd = end;
        bestTotal = total;
      }
    }
  } else {
    best = Array.from({ length: count }, () => []);
    const heaviestFirst = projections.map((_, i) => i).sort((a, b) => own[b] - own[a]);
    for (const i of heaviestFirst) {
      let choice = 0;
      let choiceCost = Number.POSITIVE_INFINITY;
      for (let lane = 0; lane < count; lane++) {
        const cost = laneCost([...best[lane], i], lane > 0);
        if (cost < choiceCost) {
          choice = lane;
          choiceCost = cost;
        }
      }
      best[choice].push(i);
    }
  }
  // Each lane applies its projections in the order they were given (as the runner does). The
  // first lane (built on the calling thread, into the read-model file itself) is the one whose
  // projections handle the most events, as a measure of the rows they write: the others' tables
  // are copied at the end.
  return best
    .filter((lane) => lane.length > 0)
    .sort((a, b) => laneHandled(b) - laneHandled(a))
    .map((lane) => [...lane].sort((a, b) => a - b).map((i) => projections[i]));
}

/** An event type's share of the log: from `shares`, or the same for every type the projections handle. */
function typeShareOf(projections: readonly Projection[], shares?: ReadonlyMap<string, number>): (type: string) => number {
  if (shares && shares.size > 0) return (type) => shares.get(type) ?? 0;
  const even = 1 / Math.max(1, new Set(projections.flatMap((p) => p.eventTypes)).size);
  return () => even;
}

/** How many lanes this build can use: worker lanes need the embedded store, the worker script and projections it can name. */
function usableLanes(store: EventStore, projections: readonly Projection[], options: OpenReadModelsOptions): number {
  const wanted = Math.floor(options.lanes ?? Math.min(2, availableParallelism()));
  if (wanted <= 1) return 1;
  if (!(store instanceof SqliteEventStore)) return 1;
  if (!existsSync(options.workerScript ?? DEFAULT_WORKER_SCRIPT)) return 1;
  if (!projections.every((p) => ALL_PROJECTIONS.includes(p))) return 1;
  return wanted;
}

async function buildInLanes(
  db: Db,
  file: string,
  store: EventStore,
  projections: readonly Projection[],
  options: OpenReadModelsOptions,
  flushNow: () => void,
): Promise<InitialBuild> {
  const started = process.hrtime.bigint();
  const transactionEvents = options.transactionEvents ?? Number.POSITIVE_INFINITY;
  const lanes = usableLanes(store, projections, options);
  const plan = planLanes(projections, lanes, lanes > 1 ? (store as SqliteEventStore).typeShares() : undefined);
  const positions = plan.map(() => 0);
  const progress = (lane: number, position: number) => {
    positions[lane] = position;
    options.onProgress?.(Math.min(...positions));
  };
  if (plan.length > 1) db.pragma(`cache_size = -${CALLING_LANE_BUILD_CACHE_KIB}`);
  const workers = plan.slice(1).map((lane, k) =>
    startLaneWorker(options.workerScript ?? DEFAULT_WORKER_SCRIPT, {
      eventStoreFile: (store as SqliteEventStore).file,
      file: laneFile(file, k + 1),
      projections: lane.map((p) => p.name),
      transactionEvents,
      cacheKiB: WORKER_LANE_BUILD_CACHE_KIB,
    }, (position) => progress(k + 1, position)),
  );
  // With worker lanes the store is the embedded one: this lane scans it with a connection of its
  // own too, whose small cache a scan does not fill (the store's is the service's).
  const scanStore = workers.length > 0 ? new SqliteEventStore({ file: (store as SqliteEventStore).file, clock: new SystemClock(), cacheKiB: SCAN_CACHE_KIB }) : store;
  try {
    const own = await buildFromLog(db, scanStore, plan[0], transactionEvents, (position) => progress(0, position));
    const others = await Promise.all(workers.map((w) => w.done));
    // The threads go before the copy: their memory is not the copy's peak.
    await Promise.all(workers.map((w) => w.stop()));
    for (let k = 0; k < others.length; k++) mergeLane(db, laneFile(file, k + 1), plan[k + 1], flushNow);
    const events = others.reduce((sum, lane) => sum + lane.events, own.events);
    return { events, seconds: Number(process.hrtime.bigint() - started) / 1e9, lanes: plan.length };
  } finally {
    if (scanStore !== store) await scanStore.close();
    await Promise.all(workers.map((w) => w.stop()));
    removeLaneFiles(file);
  }
}

/**
 * Builds `projections` in `db` from the log (one lane): reads only the event types they handle,
 * applies them through a ProjectionApplier in transactions of `transactionEvents` events, and moves
 * every checkpoint to the head the log had when the read began (the events of other types were
 * seen too). The projections' query indexes are created at the end, once their tables are full.
 */
export async function buildFromLog(
  db: Db,
  store: EventStore,
  projections: readonly Projection[],
  transactionEvents: number,
  onProgress?: (position: number) => void,
): Promise<{ events: number }> {
  const applier = new ProjectionApplier(db, projections, undefined, true);
  const head = await store.headPosition();
  const eventTypes = [...new Set(projections.flatMap((p) => p.eventTypes))];
  let events = 0;
  let inTransaction = 0;
  let sinceProgress = 0;
  let page: StoredEvent[] = [];
  applier.begin();
  try {
    for await (const event of store.readAll({ fromPosition: 'start', filter: { eventTypes } })) {
      page.push(event);
      if (page.length < BUILD_PAGE_EVENTS) continue;
      applier.applyOpen(page);
      events += page.length;
      inTransaction += page.length;
      sinceProgress += page.length;
      const reached = Number(page[page.length - 1].position.commit);
      page = [];
      if (inTransaction >= transactionEvents) {
        applier.commit();
        applier.begin();
        inTransaction = 0;
        sinceProgress = PROGRESS_EVENTS;
      }
      if (sinceProgress >= PROGRESS_EVENTS) {
        onProgress?.(reached);
        sinceProgress = 0;
      }
    }
    applier.applyOpen(page);
    events += page.length;
    if (head) applier.advanceTo(head);
    applier.commit();
    // Indexes only readers use, on the full tables: one sort each. SQLite lets a sort hold as much
    // memory as the page cache; the lanes sort at the same time, at the end, so the cache is let go
    // first and the sorts kept small (INDEX_CACHE_KIB: runs merged from a temporary file).
    db.pragma(`cache_size = -${INDEX_CACHE_KIB}`);
    db.pragma('shrink_memory');
    db.transaction(() => applier.createAllQueryIndexes())();
    const checkpoint = applier.lowestCheckpoint();
    onProgress?.(checkpoint ? Number(checkpoint.commit) : 0);
  } catch (error) {
    applier.rollback();
    throw error;
  }
  return { events };
}

/**
 * Copies a lane's tables and checkpoints into the read-model file. The tables are created empty
 * first by their projections' setup and query indexes (the same schema and indexes as in the
 * lane), so SQLite copies them whole (its transfer optimisation: records and index entries in
 * order, not row by row). `afterTable` is called once each table is copied (the build starts an
 * fsync of what was written so far: EarlyFlush.now).
 */
function mergeLane(db: Db, file: string, projections: readonly Projection[], afterTable: () => void): void {
  for (const projection of projections) {
    projection.setup(db);
    createQueryIndexes(db, projection);
  }
  db.prepare('ATTACH DATABASE ? AS lane').run(file);
  try {
    const laneTables = db
      .prepare(`SELECT name FROM lane.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'projection_checkpoints'`)
      .pluck()
      .all() as string[];
    const copyCheckpoint = db.prepare('INSERT OR REPLACE INTO main.projection_checkpoints SELECT * FROM lane.projection_checkpoints WHERE name = ?');
    db.transaction(() => {
      for (const table of laneTables) {
        db.exec(`INSERT INTO main."${table}" SELECT * FROM lane."${table}"`);
        afterTable();
      }
      for (const projection of projections) copyCheckpoint.run(projection.name);
    })();
  } finally {
    db.exec('DETACH DATABASE lane');
  }
}

/** What a lane worker is asked to build (initial-build.worker.ts). */
export interface LaneTask {
  readonly eventStoreFile: string;
  readonly file: string;
  readonly projections: readonly string[];
  readonly transactionEvents: number;
  /** The lane's page cache (KiB). */
  readonly cacheKiB: number;
}

export type LaneMessage =
  | { readonly type: 'progress'; readonly position: number }
  | { readonly type: 'done'; readonly events: number }
  | { readonly type: 'failed'; readonly name: string; readonly message: string; readonly code?: string };

interface LaneWorker {
  readonly done: Promise<{ events: number }>;
  /** Ends the thread (at once if it is still building) and waits for it to be gone. */
  stop(): Promise<void>;
}

function startLaneWorker(script: string, task: LaneTask, onProgress: (position: number) => void): LaneWorker {
  const worker = new Worker(script, { workerData: task, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
  let exited = false;
  const gone = new Promise<void>((resolve) => worker.once('exit', () => {
    exited = true;
    resolve();
  }));
  const done = new Promise<{ events: number }>((resolve, reject) => {
    worker.on('message', (message: LaneMessage) => {
      if (message.type === 'progress') onProgress(message.position);
      else if (message.type === 'done') resolve({ events: message.events });
      else reject(Object.assign(new Error(`initial build lane (${task.projections.join(', ')}): ${message.message}`), { name: message.name, code: message.code }));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`initial build lane (${task.projections.join(', ')}) ended with code ${code}`)));
  });
  done.catch(() => undefined); // observed by the caller; never an unhandled rejection
  return {
    done,
    async stop() {
      if (!exited) await worker.terminate();
      await gone;
    },
  };
}

function laneFile(file: string, lane: number): string {
  return `${file}.lane-${lane}`;
}

/** Removes the lane files a build left (an interrupted one, or this one once merged). */
function removeLaneFiles(file: string): void {
  const prefix = `${basename(file)}.lane-`;
  for (const name of readdirSync(dirname(file))) if (name.startsWith(prefix)) rmSync(join(dirname(file), name), { force: true });
}

/** Removes a read-model file left by an interrupted initial build, or one SQLite cannot read. */
function discardUnusableFile(file: string, log?: Logger): void {
  if (!existsSync(file)) return;
  let reason: string | null = null;
  let db: Db | null = null;
  try {
    db = new Database(file, { fileMustExist: true });
    const marker = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).pluck().get(BUILD_MARKER);
    if (marker !== undefined) reason = 'an initial build was interrupted';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'SQLITE_CORRUPT' && code !== 'SQLITE_NOTADB') throw error;
    reason = 'SQLite cannot read it';
  } finally {
    db?.close();
  }
  if (reason === null) return;
  log?.warn({ reason }, 'read-model file discarded: it is rebuilt from the log');
  removeDatabaseFiles(file);
}

function removeDatabaseFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true });
  if (existsSync(dirname(file))) removeLaneFiles(file);
}
