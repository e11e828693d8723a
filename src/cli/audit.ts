/**
 * The auditors' command line (npm run audit -- <command>): works directly on the configured store
 * (DATA_DIR, or EVENTSTORE_CONNECTION_STRING for EventStoreDB: the same variables as the service)
 * without starting HTTP.
 *
 *   replay [--subject <id>] [--out <file>]   the log (or one subject's events) as NDJSON, personal fields "[encrypted]"
 *   verify [--no-record] [--max-mismatches n] replay into fresh projections and compare with DATA_DIR/readmodels.db
 *   rebuild-projections [--projection <name>] drop and rebuild read models from position zero
 *
 * Progress goes to stderr: a bar with rate and ETA on a terminal, plain lines otherwise. Exit codes:
 * 0 success, 1 verification found differences, 2 error.
 */
import 'reflect-metadata';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { definitionOf, isActor, validateEventData, type Actor } from '../events';
import { streams } from '../events/streams';
import { auditNdjsonStream } from '../modules/audit/audit-events/audit-log.reader';
import { formatPosition } from '../modules/audit/audit-events/audit-position';
import { decideVerificationRecord } from '../modules/audit/verify-projections/verify-projections.decider';
import { SystemClock, type Clock } from '../modules/clock/clock.port';
import { ConfigError, loadConfig, type AppConfig } from '../modules/config/app-config';
import { createEventStore } from '../modules/event-store/event-store.module';
import type { EventStore, JsonObject, Position } from '../modules/event-store/event-store.port';
import { ALL_PROJECTIONS } from '../projections';
import type { Projection } from '../projections/projection';
import { ProjectionRunner } from '../projections/projection-runner';
import { openReadModelDatabase } from '../projections/read-model-database';
import { verifyProjections } from '../projections/verification/projection-verifier';
import { Progress, type ProgressOutput } from './progress';

export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: ProgressOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface CliDependencies {
  /** Replaces the store built from the configuration (tests). */
  readonly store?: EventStore;
  readonly clock?: Clock;
  readonly projections?: readonly Projection[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class CliFailure extends Error {}

/** Runs the CLI; resolves with the exit code. */
export async function runAuditCli(argv: readonly string[], io: CliIo, deps: CliDependencies = {}): Promise<number> {
  let exitCode = 0;
  const clock = deps.clock ?? new SystemClock();
  const projections = deps.projections ?? ALL_PROJECTIONS;
  const program = new Command()
    .name('audit')
    .description('Photo Memory audit tool: replay the event log, verify the read models, rebuild projections')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError();

  const withStore = async <T>(work: (store: EventStore, config: AppConfig) => Promise<T>): Promise<T> => {
    const config = loadConfig(io.env);
    const store = deps.store ?? createEventStore(config, clock);
    try {
      return await work(store, config);
    } finally {
      if (!deps.store) await store.close();
    }
  };

  program
    .command('replay')
    .description('write the event log (or one subject’s events) as NDJSON, one event a line, in log order; personal fields read "[encrypted]"')
    .addOption(new Option('--subject <id>', 'only the events of this subject').argParser(uuidArg))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (options: { subject?: string; out?: string }) => {
      await withStore(async (store) => {
        const head = await store.headPosition();
        const progress = new Progress(io.stderr, options.subject ? 'replay (one subject)' : 'replay');
        const fraction = (p: Position) => (head && head.commit > 0n ? Number((p.commit * 10_000n) / head.commit) / 10_000 : null);
        let written = 0;
        const source = auditNdjsonStream(store, options.subject ? { subjectId: options.subject } : {}, {
          onProgress: (count, position) => {
            written = count;
            progress.update(count, fraction(position));
          },
          onEnd: (count) => {
            written = count;
          },
        });
        const sink = options.out ? createWriteStream(options.out, { flags: 'wx' }) : passThroughTo(io.stdout);
        await pipeline(source, sink);
        progress.finish(written, options.out ? `written to ${options.out}` : undefined);
      });
    });

  program
    .command('verify')
    .description('replay the whole log into fresh projections in a scratch database, compare every row with DATA_DIR/readmodels.db')
    .option('--no-record', 'do not append VerificationCompleted to the log')
    .option('--auditor <name>', 'who asks (recorded as auditor:<name>; default system:audit-cli)')
    .addOption(new Option('--max-mismatches <n>', 'list at most this many differences').default(100).argParser(positiveInt))
    .action(async (options: { record: boolean; auditor?: string; maxMismatches: number }) => {
      await withStore(async (store, config) => {
        const live = join(config.dataDir, 'readmodels.db');
        if (!existsSync(live)) throw new CliFailure(`No read-model database at ${live}: start the service or run rebuild-projections first`);
        const actor: Actor = options.auditor ? (`auditor:${options.auditor}` as Actor) : 'system:audit-cli';
        if (!isActor(actor)) throw new CliFailure('--auditor must be a simple name');
        const progress = new Progress(io.stderr, 'verify: replay');
        let compareAnnounced = false;
        const report = await verifyProjections({
          store,
          liveDatabaseFile: live,
          projections,
          scratchDirectory: join(config.dataDir, 'tmp'),
          maxMismatches: options.maxMismatches,
          now: clock.now(),
          onProgress: (p) => {
            if (p.phase === 'replay') {
              const fraction = p.position && p.target && p.target.commit > 0n ? Number((p.position.commit * 10_000n) / p.target.commit) / 10_000 : null;
              progress.update(p.eventsReplayed, fraction);
            } else if (!compareAnnounced) {
              compareAnnounced = true;
              progress.finish(p.eventsReplayed, 'comparing tables');
            }
          },
        });
        progress.finish(report.eventsReplayed);
        const verificationId = randomUUID();
        if (options.record) {
          const event = decideVerificationRecord(verificationId, actor, report);
          await appendSystemEvent(store, streams.audit(clock.now()), event.type, event.data as unknown as JsonObject, actor, clock);
        }
        const result = {
          verificationId,
          eventsReplayed: report.eventsReplayed,
          verifiedUpTo: report.verifiedUpTo ? formatPosition(report.verifiedUpTo) : null,
          projectionsMatch: report.projectionsMatch,
          mismatchCount: report.mismatchCount,
          mismatches: report.mismatches,
          tables: report.tables,
          retentionViolations: report.retentionViolations,
          recorded: options.record,
        };
        io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        io.stderr.write(
          report.projectionsMatch
            ? `verify: every projection matches the log (${report.eventsReplayed} events)\n`
            : `verify: ${report.mismatchCount} difference(s) between the live read models and the replay\n`,
        );
        if (!report.projectionsMatch) exitCode = 1;
      });
    });

  program
    .command('rebuild-projections')
    .description('drop read models and rebuild them from position zero (all, or one); safe while the service runs')
    .addOption(new Option('--projection <name>', 'only this projection').choices(projections.map((p) => p.name)))
    .action(async (options: { projection?: string }) => {
      await withStore(async (store, config) => {
        const db = openReadModelDatabase(join(config.dataDir, 'readmodels.db'));
        const runner = new ProjectionRunner(store, db, projections);
        try {
          const names = options.projection ? [options.projection] : undefined;
          await runner.rebuild(names);
          const head = await store.headPosition();
          const progress = new Progress(io.stderr, `rebuild ${options.projection ?? 'all projections'}`);
          let seen = 0;
          const unsubscribe = runner.onEvents((events) => {
            seen += events.length;
            const last = events[events.length - 1].position;
            progress.update(seen, head && head.commit > 0n ? Number((last.commit * 10_000n) / head.commit) / 10_000 : null);
          });
          runner.start();
          await runner.waitUntilCaughtUp(Number.MAX_SAFE_INTEGER);
          unsubscribe();
          progress.finish(seen);
          const status = runner.status();
          for (const p of status.projections) {
            if (!names || names.includes(p.name)) io.stdout.write(`${p.name}: ${p.eventsApplied} events applied, checkpoint ${p.checkpoint ? `${p.checkpoint.commit}:${p.checkpoint.prepare}` : 'none'}\n`);
          }
        } finally {
          await runner.close();
          db.close();
        }
      });
    });

  try {
    await program.parseAsync([...argv], { from: 'node' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const message = error instanceof ConfigError || error instanceof CliFailure || error instanceof Error ? error.message : String(error);
    io.stderr.write(`audit: ${message}\n`);
    return 2;
  }
}

function uuidArg(value: string): string {
  if (!UUID.test(value)) throw new InvalidArgumentError('must be a UUID');
  return value.toLowerCase();
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** A writable that forwards to `out` and respects its back-pressure, without ending it. */
function passThroughTo(out: Writable): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (out.write(chunk)) callback();
      else out.once('drain', () => callback());
    },
  });
}

/** Appends an event without personal fields as the service would (validated, standard metadata). */
async function appendSystemEvent(store: EventStore, stream: string, type: string, data: JsonObject, actor: Actor, clock: Clock): Promise<void> {
  validateEventData(type, data);
  const definition = definitionOf(type);
  if (!definition || definition.personalFields.length > 0) throw new Error(`${type} cannot be written by the audit CLI`);
  const id = randomUUID();
  const metadata: JsonObject = { occurredAt: clock.now().toISOString(), actor, correlationId: id, causationId: null, schemaVersion: definition.schemaVersion, subjectId: null };
  await store.append(stream, [{ id, type, data, metadata }], 'any');
}

if (require.main === module) {
  runAuditCli(process.argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`audit: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
