/**
 * An in-process EventStoreDB test server speaking the real gRPC protocol, so the real
 * `@eventstore/db-client` can be tested against it (no EventStoreDB can run here).
 *
 *   const server = await EsdbTestServer.start({ now: () => clock.now() });
 *   const client = EventStoreDBClient.connectionString(server.connectionString); // esdb://127.0.0.1:PORT?tls=false
 *   ... server.failNext('append', 2, status.UNAVAILABLE); server.dropSubscriptions(); await server.restart();
 *   await server.stop();
 *
 * Built on `@grpc/grpc-js` with the client's own generated service definitions. It implements
 * `Streams/Append`, `Streams/Read` (stream and $all reads, filters, catch-up then live
 * subscriptions with checkpoints, metastream reads), `Streams/Delete` and `Streams/Tombstone`.
 * `ServerFeatures` is not registered, so the client gets UNIMPLEMENTED and uses plain `Append`
 * (never BatchAppend). The data lives in an `EsdbMemoryLog` (EventStoreDB's commit-check, soft
 * delete, tombstone, metadata and scavenge semantics) that survives `restart()`.
 *
 * Faithful details the client depends on: `created` in 100 ns ticks since the Unix epoch; errors
 * of server-streaming calls sent with `call.emit('error', { code, details, metadata })` (never
 * `call.destroy`); `exception`/`stream-name`/`expected-version`/`actual-version` trailers;
 * $all reads forwards from a position include it, backwards exclude it, subscriptions exclude it.
 *
 * A small HTTP admin listener (its own port, `adminUrl`) answers `POST /admin/scavenge` like
 * EventStoreDB (`{ scavengeId, result: 'Started' }`, 401 without the configured credentials).
 * Test hooks: `failNext`, `setLatency`, `dropSubscriptions`, `restart`, `scavenge`, `stats`,
 * `records()`, `subscriptionRequestLog`, `scavengeRequestLog`.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import * as streamsPb from '@eventstore/db-client/generated/streams_pb';
import * as sharedPb from '@eventstore/db-client/generated/shared_pb';
import {
  DELETED_STREAM,
  EsdbMemoryLog,
  type EsdbRecord,
  type Expected,
  type ProposedEvent,
  type WriteOutcome,
} from './esdb-memory-log';

export type EsdbMethod = 'append' | 'read' | 'delete' | 'tombstone';

export interface EsdbTestServerOptions {
  /** gRPC port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Server clock: `created` of new events and `$maxAge` evaluation. */
  readonly now?: () => Date;
  /** When set, the admin listener requires HTTP basic auth with these credentials. */
  readonly adminCredentials?: { readonly username: string; readonly password: string };
  /** Write a `$settings` event at start, like a fresh node (default true). */
  readonly seedSystemEvents?: boolean;
}

export interface FailureOptions {
  /** For appends: commit the events first, then fail the call (the response is "lost"). */
  readonly afterCommit?: boolean;
}

export interface EsdbTestServerStats {
  appendCalls: number;
  appendsInFlight: number;
  /** Appends whose events have all arrived and wait (append latency) to be committed. */
  appendsAwaitingCommit: number;
  maxAppendsInFlight: number;
  readCalls: number;
  subscriptionsStarted: number;
  activeSubscriptions: number;
  deleteCalls: number;
  tombstoneCalls: number;
  injectedFailures: number;
  scavenges: number;
  adminRequests: number;
}

/** What a client asked when it subscribed: `$all` or a stream, and from where (exclusive). */
export interface SubscriptionRequestInfo {
  readonly target: '$all' | string;
  readonly from: 'start' | 'end' | bigint;
  readonly filtered: boolean;
}

export interface ScavengeRequestInfo {
  readonly query: Readonly<Record<string, string>>;
  readonly username: string | null;
  readonly scavengeId: string;
}

interface PendingFailure {
  remaining: number;
  readonly code: grpc.status;
  readonly afterCommit: boolean;
}

interface ServiceErrorLike {
  code: grpc.status;
  details: string;
  metadata?: grpc.Metadata;
}

type Matcher = (record: EsdbRecord) => boolean;

const CHECKPOINT_WINDOW = 32;
const CATCH_UP_PAGE = 64;

function errorWithException(code: grpc.status, details: string, entries: Record<string, string>): ServiceErrorLike {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return { code, details, metadata };
}

function streamDeletedError(stream: string): ServiceErrorLike {
  return errorWithException(grpc.status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, {
    exception: 'stream-deleted',
    'stream-name': stream,
  });
}

function expectedToLong(expected: Expected): bigint {
  switch (expected.kind) {
    case 'any':
      return -2n;
    case 'no_stream':
      return -1n;
    case 'stream_exists':
      return -4n;
    case 'revision':
      return expected.revision;
  }
}

function wrongExpectedVersionError(operation: string, stream: string, expected: Expected, current: bigint): ServiceErrorLike {
  return errorWithException(
    grpc.status.FAILED_PRECONDITION,
    `${operation} failed due to WrongExpectedVersion. Stream: ${stream}, Expected version: ${expectedToLong(expected)}, Actual version: ${current}`,
    {
      exception: 'wrong-expected-version',
      'stream-name': stream,
      'expected-version': expectedToLong(expected).toString(),
      'actual-version': current.toString(),
    },
  );
}

function streamName(identifier: sharedPb.StreamIdentifier | undefined): string {
  if (!identifier) return '';
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
}

function streamIdentifier(name: string): sharedPb.StreamIdentifier {
  const id = new sharedPb.StreamIdentifier();
  id.setStreamName(Uint8Array.from(Buffer.from(name, 'utf8')));
  return id;
}

function parseUuid(uuid: sharedPb.UUID | undefined): string {
  if (!uuid) return crypto.randomUUID();
  if (uuid.hasStructured()) {
    const s = uuid.getStructured()!;
    const buffer = Buffer.alloc(16);
    buffer.writeBigInt64BE(BigInt(s.getMostSignificantBits()), 0);
    buffer.writeBigInt64BE(BigInt(s.getLeastSignificantBits()), 8);
    const hex = buffer.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return uuid.getString().toLowerCase();
}

function toUuid(id: string, structured: boolean): sharedPb.UUID {
  const uuid = new sharedPb.UUID();
  if (structured) {
    const buffer = Buffer.from(id.replace(/-/g, ''), 'hex');
    const s = new sharedPb.UUID.Structured();
    s.setMostSignificantBits(buffer.readBigInt64BE(0).toString());
    s.setLeastSignificantBits(buffer.readBigInt64BE(8).toString());
    uuid.setStructured(s);
  } else {
    uuid.setString(id);
  }
  return uuid;
}

/** `created` is in 100 ns ticks since the Unix epoch (the client divides by 10 000 to get ms). */
function toTicksSinceEpoch(date: Date): string {
  return (BigInt(date.getTime()) * 10_000n).toString();
}

function toReadEvent(record: EsdbRecord, structuredUuid: boolean): streamsPb.ReadResp {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  recorded.setId(toUuid(record.id, structuredUuid));
  recorded.setStreamIdentifier(streamIdentifier(record.stream));
  recorded.setStreamRevision(record.revision.toString());
  recorded.setPreparePosition(record.position.toString());
  recorded.setCommitPosition(record.position.toString());
  recorded
    .getMetadataMap()
    .set('type', record.type)
    .set('content-type', record.contentType)
    .set('created', toTicksSinceEpoch(record.created));
  recorded.setCustomMetadata(record.customMetadata);
  recorded.setData(record.data);
  const event = new streamsPb.ReadResp.ReadEvent();
  event.setEvent(recorded);
  event.setCommitPosition(record.position.toString());
  const resp = new streamsPb.ReadResp();
  resp.setEvent(event);
  return resp;
}

function parseExpected(
  message: { getExpectedStreamRevisionCase(): number; getRevision(): string },
  cases: { REVISION: number; NO_STREAM: number; ANY: number; STREAM_EXISTS: number },
): Expected {
  switch (message.getExpectedStreamRevisionCase()) {
    case cases.REVISION:
      return { kind: 'revision', revision: BigInt(message.getRevision()) };
    case cases.NO_STREAM:
      return { kind: 'no_stream' };
    case cases.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    case cases.ANY:
    default:
      return { kind: 'any' };
  }
}

function buildMatcher(filter: streamsPb.ReadReq.Options.FilterOptions | undefined): Matcher | null {
  if (!filter) return null;
  const FilterCase = streamsPb.ReadReq.Options.FilterOptions.FilterCase;
  const onStream = filter.getFilterCase() === FilterCase.STREAM_IDENTIFIER;
  const expression = onStream ? filter.getStreamIdentifier() : filter.getEventType();
  if (!expression) return null;
  const regex = expression.getRegex();
  const prefixes = expression.getPrefixList();
  const pick = (r: EsdbRecord): string => (onStream ? r.stream : r.type);
  if (regex) {
    const re = new RegExp(regex);
    return (r) => re.test(pick(r));
  }
  return (r) => prefixes.some((p) => pick(r).startsWith(p));
}

class Subscription {
  private phase: 'catch-up' | 'live' = 'catch-up';
  private scannedSinceCheckpoint = 0;
  private lastScanned: bigint | null = null;
  closed = false;

  constructor(
    readonly call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>,
    private readonly server: EsdbTestServer,
    private readonly log: EsdbMemoryLog,
    private readonly target: { kind: 'all'; after: bigint | null } | { kind: 'stream'; stream: string; afterRevision: bigint | null },
    private readonly matcher: Matcher | null,
    private readonly checkpointEvery: number | null,
    private readonly structuredUuid: boolean,
  ) {}

  /** For $all: last log position handed over (scanned). */
  private cursor: bigint | null = null;

  async start(): Promise<void> {
    const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation();
    confirmation.setSubscriptionId(crypto.randomUUID());
    const resp = new streamsPb.ReadResp();
    resp.setConfirmation(confirmation);
    this.write(resp);

    if (this.target.kind === 'all') {
      this.cursor = this.target.after;
    }
    // Catch up page by page, yielding to the event loop between pages like a real server.
    for (;;) {
      if (this.closed) return;
      const more = this.pump(CATCH_UP_PAGE);
      if (!more) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
      await this.waitForDrain();
    }
    if (this.closed) return;
    if (this.checkpointEvery !== null && this.scannedSinceCheckpoint > 0 && this.lastScanned !== null) {
      this.sendCheckpoint(this.lastScanned);
    }
    const caughtUp = new streamsPb.ReadResp();
    caughtUp.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
    this.write(caughtUp);
    this.phase = 'live';
    this.pump(Number.POSITIVE_INFINITY);
  }

  /** A commit happened: in live phase, send what is new. */
  onCommit(): void {
    if (this.closed || this.phase !== 'live') return;
    this.pump(Number.POSITIVE_INFINITY);
  }

  /** Sends up to `limit` records after the cursor; returns whether more remain. */
  private pump(limit: number): boolean {
    if (this.target.kind === 'all') {
      let index = this.cursor === null ? 0 : this.log.indexAfter(this.cursor);
      let sent = 0;
      while (index < this.log.length && sent < limit && !this.closed) {
        const record = this.log.recordAt(index)!;
        this.cursor = record.position;
        this.scan(record);
        index += 1;
        sent += 1;
      }
      return index < this.log.length;
    }
    const target = this.target;
    if (this.log.isTombstoned(target.stream)) {
      this.fail(streamDeletedError(target.stream));
      return false;
    }
    const outcome = this.log.readStream(target.stream);
    if (outcome.kind !== 'ok') return false;
    const pending = outcome.records.filter((r) => target.afterRevision === null || r.revision > target.afterRevision);
    let sent = 0;
    for (const record of pending) {
      if (sent >= limit || this.closed) return true;
      target.afterRevision = record.revision;
      this.write(toReadEvent(record, this.structuredUuid));
      sent += 1;
    }
    return false;
  }

  private scan(record: EsdbRecord): void {
    this.lastScanned = record.position;
    if (!this.matcher || this.matcher(record)) {
      this.write(toReadEvent(record, this.structuredUuid));
    }
    if (this.checkpointEvery !== null) {
      this.scannedSinceCheckpoint += 1;
      if (this.scannedSinceCheckpoint >= this.checkpointEvery) this.sendCheckpoint(record.position);
    }
  }

  private sendCheckpoint(position: bigint): void {
    this.scannedSinceCheckpoint = 0;
    const checkpoint = new streamsPb.ReadResp.Checkpoint();
    checkpoint.setCommitPosition(position.toString());
    checkpoint.setPreparePosition(position.toString());
    const resp = new streamsPb.ReadResp();
    resp.setCheckpoint(checkpoint);
    this.write(resp);
  }

  private write(resp: streamsPb.ReadResp): void {
    if (this.closed) return;
    try {
      this.call.write(resp);
    } catch {
      this.close();
    }
  }

  private async waitForDrain(): Promise<void> {
    const writable = this.call as unknown as { writableNeedDrain?: boolean; once(event: 'drain', cb: () => void): void };
    if (!writable.writableNeedDrain || this.closed) return;
    await new Promise<void>((resolve) => {
      writable.once('drain', resolve);
      this.call.once('cancelled', resolve);
    });
  }

  fail(error: ServiceErrorLike): void {
    if (this.closed) return;
    this.close();
    this.call.emit('error', error);
  }

  end(): void {
    if (this.closed) return;
    this.close();
    this.call.end();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.forgetSubscription(this);
  }
}

export class EsdbTestServer {
  private grpcServer: grpc.Server | null = null;
  private httpServer: HttpServer | null = null;
  private readonly subscriptions = new Set<Subscription>();
  private readonly failures = new Map<EsdbMethod, PendingFailure>();
  private readonly latency = new Map<EsdbMethod, number>();
  private readonly scavengeRequests: ScavengeRequestInfo[] = [];
  private readonly subscriptionRequests: SubscriptionRequestInfo[] = [];
  private readonly statsData: EsdbTestServerStats = {
    appendCalls: 0,
    appendsInFlight: 0,
    appendsAwaitingCommit: 0,
    maxAppendsInFlight: 0,
    readCalls: 0,
    subscriptionsStarted: 0,
    activeSubscriptions: 0,
    deleteCalls: 0,
    tombstoneCalls: 0,
    injectedFailures: 0,
    scavenges: 0,
    adminRequests: 0,
  };
  private grpcPort = 0;
  private adminPortValue = 0;
  private running = false;

  private constructor(
    readonly log: EsdbMemoryLog,
    private readonly options: EsdbTestServerOptions,
  ) {
    log.onCommit(() => {
      for (const sub of [...this.subscriptions]) sub.onCommit();
    });
  }

  static async start(options: EsdbTestServerOptions = {}): Promise<EsdbTestServer> {
    const log = new EsdbMemoryLog(options.now ?? (() => new Date()));
    if (options.seedSystemEvents !== false) {
      log.writeSystemEvent('$settings', '$settings', { $userStreamAcl: { $r: '$all' }, $systemStreamAcl: { $r: '$admins' } });
    }
    const server = new EsdbTestServer(log, options);
    await server.startGrpc(options.port ?? 0);
    await server.startAdmin();
    return server;
  }

  get port(): number {
    return this.grpcPort;
  }

  get adminPort(): number {
    return this.adminPortValue;
  }

  get connectionString(): string {
    return `esdb://127.0.0.1:${this.grpcPort}?tls=false`;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPortValue}`;
  }

  /** A snapshot of the counters. */
  get stats(): Readonly<EsdbTestServerStats> {
    return { ...this.statsData, activeSubscriptions: this.subscriptions.size };
  }

  get scavengeRequestLog(): readonly ScavengeRequestInfo[] {
    return this.scavengeRequests;
  }

  get subscriptionRequestLog(): readonly SubscriptionRequestInfo[] {
    return this.subscriptionRequests;
  }

  /** Every record still in the log ($all order, system records included). */
  records(): readonly EsdbRecord[] {
    return this.log.records();
  }

  /** The next `count` calls of `method` fail with `code` (UNAVAILABLE, DEADLINE_EXCEEDED, ...). */
  failNext(method: EsdbMethod, count: number, code: grpc.status, options: FailureOptions = {}): void {
    this.failures.set(method, { remaining: count, code, afterCommit: options.afterCommit ?? false });
  }

  /** Delay every answer of `method` by `ms` (0 removes the delay). */
  setLatency(method: EsdbMethod, ms: number): void {
    if (ms > 0) this.latency.set(method, ms);
    else this.latency.delete(method);
  }

  /** Ends every open subscription: with an error status (default UNAVAILABLE) or, for OK, a clean end. */
  dropSubscriptions(code: grpc.status = grpc.status.UNAVAILABLE): number {
    const subs = [...this.subscriptions];
    for (const sub of subs) {
      if (code === grpc.status.OK) sub.end();
      else sub.fail({ code, details: 'Subscription dropped by the test server' });
    }
    return subs.length;
  }

  scavenge(): { scavengeId: string; removedRecords: number } {
    const report = this.log.scavenge();
    this.statsData.scavenges += 1;
    return { scavengeId: crypto.randomUUID(), removedRecords: report.removedRecords };
  }

  /** Simulates a node restart on the same port: connections and subscriptions drop, data stays. */
  async restart(): Promise<void> {
    this.stopGrpc();
    await this.startGrpc(this.grpcPort);
  }

  async stop(): Promise<void> {
    this.stopGrpc();
    const http = this.httpServer;
    this.httpServer = null;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }

  /** @internal */
  forgetSubscription(sub: Subscription): void {
    this.subscriptions.delete(sub);
  }

  private stopGrpc(): void {
    if (!this.running) return;
    this.running = false;
    for (const sub of [...this.subscriptions]) sub.close();
    this.grpcServer?.forceShutdown();
    this.grpcServer = null;
  }

  private async startGrpc(port: number): Promise<void> {
    const server = new grpc.Server();
    server.addService(StreamsService, {
      read: (call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>) => this.handleRead(call),
      append: (
        call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>,
        callback: grpc.sendUnaryData<streamsPb.AppendResp>,
      ) => this.handleAppend(call, callback),
      delete: (call: grpc.ServerUnaryCall<streamsPb.DeleteReq, streamsPb.DeleteResp>, callback: grpc.sendUnaryData<streamsPb.DeleteResp>) =>
        this.handleDelete(call, callback),
      tombstone: (
        call: grpc.ServerUnaryCall<streamsPb.TombstoneReq, streamsPb.TombstoneResp>,
        callback: grpc.sendUnaryData<streamsPb.TombstoneResp>,
      ) => this.handleTombstone(call, callback),
      batchAppend: (call: grpc.ServerDuplexStream<streamsPb.BatchAppendReq, streamsPb.BatchAppendResp>) => {
        // Not advertised (ServerFeatures is not served), so a conforming client never calls it.
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'BatchAppend is not supported by this test server' });
      },
    });
    this.grpcPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
        if (error) reject(error);
        else resolve(bound);
      });
    });
    this.grpcServer = server;
    this.running = true;
  }

  private async startAdmin(): Promise<void> {
    const http = createServer((req, res) => this.handleAdmin(req, res));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    this.httpServer = http;
    this.adminPortValue = (http.address() as AddressInfo).port;
  }

  private takeFailure(method: EsdbMethod): PendingFailure | null {
    const failure = this.failures.get(method);
    if (!failure || failure.remaining <= 0) return null;
    failure.remaining -= 1;
    if (failure.remaining === 0) this.failures.delete(method);
    this.statsData.injectedFailures += 1;
    return failure;
  }

  private async delay(method: EsdbMethod): Promise<void> {
    const ms = this.latency.get(method);
    if (ms) await new Promise<void>((resolve) => setTimeout(resolve, ms));
  }

  private handleAppend(
    call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>,
    callback: grpc.sendUnaryData<streamsPb.AppendResp>,
  ): void {
    this.statsData.appendCalls += 1;
    this.statsData.appendsInFlight += 1;
    this.statsData.maxAppendsInFlight = Math.max(this.statsData.maxAppendsInFlight, this.statsData.appendsInFlight);
    let answered = false;
    const answer = (error: ServiceErrorLike | null, resp?: streamsPb.AppendResp): void => {
      if (answered) return;
      answered = true;
      this.statsData.appendsInFlight -= 1;
      if (error) callback(error as grpc.ServiceError);
      else callback(null, resp);
    };
    let options: streamsPb.AppendReq.Options | undefined;
    const events: ProposedEvent[] = [];
    let invalid: ServiceErrorLike | null = null;
    call.on('data', (req: streamsPb.AppendReq) => {
      if (req.hasOptions()) {
        options = req.getOptions();
        return;
      }
      const proposed = req.getProposedMessage();
      if (!proposed || !options) {
        invalid = { code: grpc.status.INVALID_ARGUMENT, details: 'Append must start with options' };
        return;
      }
      const metadata = proposed.getMetadataMap();
      const type = metadata.get('type');
      const contentType = metadata.get('content-type');
      if (type === undefined || contentType === undefined) {
        const missing = type === undefined ? 'type' : 'content-type';
        invalid = errorWithException(grpc.status.INVALID_ARGUMENT, `Required Metadata Property '${missing}' is missing`, {
          exception: 'missing-required-metadata-property',
          'required-metadata-properties': 'type,content-type',
        });
        return;
      }
      events.push({
        id: parseUuid(proposed.getId()),
        type,
        contentType,
        data: proposed.getData_asU8(),
        customMetadata: proposed.getCustomMetadata_asU8(),
      });
    });
    call.on('error', () => answer({ code: grpc.status.CANCELLED, details: 'Append cancelled' }));
    call.on('cancelled', () => answer({ code: grpc.status.CANCELLED, details: 'Append cancelled' }));
    call.on('end', () => {
      void (async () => {
        this.statsData.appendsAwaitingCommit += 1;
        try {
          await this.delay('append');
        } finally {
          this.statsData.appendsAwaitingCommit -= 1;
        }
        if (invalid) return answer(invalid);
        if (!options) return answer({ code: grpc.status.INVALID_ARGUMENT, details: 'Append without options' });
        const failure = this.takeFailure('append');
        if (failure && !failure.afterCommit) return answer({ code: failure.code, details: 'Injected failure' });
        const stream = streamName(options.getStreamIdentifier());
        const expected = parseExpected(options, streamsPb.AppendReq.Options.ExpectedStreamRevisionCase);
        const outcome = this.log.append(stream, expected, events);
        if (failure) return answer({ code: failure.code, details: 'Injected failure after commit' });
        if (outcome.kind === 'stream_deleted') return answer(streamDeletedError(stream));
        answer(null, this.appendResponse(expected, outcome));
      })().catch((error: unknown) => answer({ code: grpc.status.INTERNAL, details: String(error) }));
    });
  }

  private appendResponse(expected: Expected, outcome: Exclude<WriteOutcome, { kind: 'stream_deleted' }>): streamsPb.AppendResp {
    const resp = new streamsPb.AppendResp();
    if (outcome.kind === 'wrong_expected_version') {
      const wev = new streamsPb.AppendResp.WrongExpectedVersion();
      if (outcome.currentRevision >= 0n) wev.setCurrentRevision(outcome.currentRevision.toString());
      else wev.setCurrentNoStream(new sharedPb.Empty());
      switch (expected.kind) {
        case 'any':
          wev.setExpectedAny(new sharedPb.Empty());
          break;
        case 'no_stream':
          wev.setExpectedNoStream(new sharedPb.Empty());
          break;
        case 'stream_exists':
          wev.setExpectedStreamExists(new sharedPb.Empty());
          break;
        case 'revision':
          wev.setExpectedRevision(expected.revision.toString());
          break;
      }
      resp.setWrongExpectedVersion(wev);
      return resp;
    }
    const success = new streamsPb.AppendResp.Success();
    if (outcome.currentRevision >= 0n) success.setCurrentRevision(outcome.currentRevision.toString());
    else success.setNoStream(new sharedPb.Empty());
    if (outcome.position === null) {
      success.setNoPosition(new sharedPb.Empty());
    } else {
      const position = new streamsPb.AppendResp.Position();
      position.setCommitPosition(outcome.position.toString());
      position.setPreparePosition(outcome.position.toString());
      success.setPosition(position);
    }
    resp.setSuccess(success);
    return resp;
  }

  private handleRead(call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>): void {
    this.statsData.readCalls += 1;
    void (async () => {
      await this.delay('read');
      const failure = this.takeFailure('read');
      if (failure) {
        call.emit('error', { code: failure.code, details: 'Injected failure' });
        return;
      }
      const options = call.request.getOptions();
      if (!options) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'Read without options' });
        return;
      }
      const structuredUuid = options.getUuidOption()?.hasStructured() ?? false;
      const matcher = options.hasFilter() ? buildMatcher(options.getFilter()) : null;
      if (options.hasSubscription()) {
        this.startSubscription(call, options, matcher, structuredUuid);
        return;
      }
      const backwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
      const count = BigInt(options.getCount() || '0');
      if (options.hasStream()) this.readStream(call, options.getStream()!, backwards, count, structuredUuid);
      else this.readAll(call, options.getAll()!, backwards, count, matcher, structuredUuid);
    })().catch((error: unknown) => call.emit('error', { code: grpc.status.INTERNAL, details: String(error) }));
  }

  private readStream(
    call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>,
    options: streamsPb.ReadReq.Options.StreamOptions,
    backwards: boolean,
    count: bigint,
    structuredUuid: boolean,
  ): void {
    const stream = streamName(options.getStreamIdentifier());
    const outcome = this.log.readStream(stream);
    if (outcome.kind === 'deleted') {
      call.emit('error', streamDeletedError(stream));
      return;
    }
    if (outcome.kind === 'not_found') {
      const notFound = new streamsPb.ReadResp.StreamNotFound();
      notFound.setStreamIdentifier(streamIdentifier(stream));
      const resp = new streamsPb.ReadResp();
      resp.setStreamNotFound(notFound);
      call.write(resp);
      call.end();
      return;
    }
    const Case = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase;
    const revisionCase = options.getRevisionOptionCase();
    let records: EsdbRecord[];
    if (backwards) {
      const from = revisionCase === Case.REVISION ? BigInt(options.getRevision()) : revisionCase === Case.START ? 0n : DELETED_STREAM;
      records = outcome.records.filter((r) => r.revision <= from).reverse();
    } else {
      const from = revisionCase === Case.REVISION ? BigInt(options.getRevision()) : revisionCase === Case.END ? DELETED_STREAM : 0n;
      records = outcome.records.filter((r) => r.revision >= from);
    }
    this.writeRecords(call, records, count, null, structuredUuid);
  }

  private readAll(
    call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>,
    options: streamsPb.ReadReq.Options.AllOptions,
    backwards: boolean,
    count: bigint,
    matcher: Matcher | null,
    structuredUuid: boolean,
  ): void {
    const Case = streamsPb.ReadReq.Options.AllOptions.AllOptionCase;
    const all = this.log.records();
    let records: EsdbRecord[];
    if (options.getAllOptionCase() === Case.POSITION) {
      const commit = BigInt(options.getPosition()!.getCommitPosition());
      // Forwards from a position includes the record at that position; backwards excludes it.
      records = backwards ? all.slice(0, this.log.indexAtOrAfter(commit)).reverse() : all.slice(this.log.indexAtOrAfter(commit));
    } else if (options.getAllOptionCase() === Case.END) {
      records = backwards ? [...all].reverse() : [];
    } else {
      records = backwards ? [] : [...all];
    }
    this.writeRecords(call, records, count, matcher, structuredUuid);
  }

  private writeRecords(
    call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>,
    records: readonly EsdbRecord[],
    count: bigint,
    matcher: Matcher | null,
    structuredUuid: boolean,
  ): void {
    let cancelled = false;
    call.on('cancelled', () => {
      cancelled = true;
    });
    let sent = 0n;
    let index = 0;
    const writeSome = (): void => {
      while (!cancelled && index < records.length && sent < count) {
        const record = records[index++]!;
        if (matcher && !matcher(record)) continue;
        sent += 1n;
        if (!call.write(toReadEvent(record, structuredUuid))) {
          call.once('drain', writeSome);
          return;
        }
      }
      if (!cancelled) call.end();
    };
    writeSome();
  }

  private startSubscription(
    call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>,
    options: streamsPb.ReadReq.Options,
    matcher: Matcher | null,
    structuredUuid: boolean,
  ): void {
    let target: ConstructorParameters<typeof Subscription>[3];
    if (options.hasStream()) {
      const streamOptions = options.getStream()!;
      const stream = streamName(streamOptions.getStreamIdentifier());
      if (this.log.isTombstoned(stream)) {
        call.emit('error', streamDeletedError(stream));
        return;
      }
      const Case = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase;
      let afterRevision: bigint | null = null;
      const revisionCase = streamOptions.getRevisionOptionCase();
      this.subscriptionRequests.push({
        target: stream,
        from: revisionCase === Case.REVISION ? BigInt(streamOptions.getRevision()) : revisionCase === Case.END ? 'end' : 'start',
        filtered: false,
      });
      if (revisionCase === Case.REVISION) afterRevision = BigInt(streamOptions.getRevision());
      else if (revisionCase === Case.END) {
        const outcome = this.log.readStream(stream);
        const last = outcome.kind === 'ok' ? outcome.records[outcome.records.length - 1] : undefined;
        afterRevision = last ? last.revision : null;
      }
      target = { kind: 'stream', stream, afterRevision };
    } else {
      const all = options.getAll()!;
      const Case = streamsPb.ReadReq.Options.AllOptions.AllOptionCase;
      let after: bigint | null = null;
      if (all.getAllOptionCase() === Case.POSITION) after = BigInt(all.getPosition()!.getCommitPosition());
      else if (all.getAllOptionCase() === Case.END) after = this.log.lastPosition;
      this.subscriptionRequests.push({
        target: '$all',
        from: all.getAllOptionCase() === Case.POSITION ? (after as bigint) : all.getAllOptionCase() === Case.END ? 'end' : 'start',
        filtered: options.hasFilter(),
      });
      target = { kind: 'all', after };
    }
    const multiplier = options.hasFilter() ? Math.max(1, options.getFilter()!.getCheckpointintervalmultiplier() || 1) : null;
    const window = options.hasFilter() && options.getFilter()!.hasMax() ? options.getFilter()!.getMax() : CHECKPOINT_WINDOW;
    const checkpointEvery = multiplier === null ? null : multiplier * window;
    const sub = new Subscription(call, this, this.log, target, matcher, checkpointEvery, structuredUuid);
    this.subscriptions.add(sub);
    this.statsData.subscriptionsStarted += 1;
    call.on('cancelled', () => sub.close());
    call.on('close', () => sub.close());
    void sub.start().catch((error: unknown) => sub.fail({ code: grpc.status.INTERNAL, details: String(error) }));
  }

  private handleDelete(
    call: grpc.ServerUnaryCall<streamsPb.DeleteReq, streamsPb.DeleteResp>,
    callback: grpc.sendUnaryData<streamsPb.DeleteResp>,
  ): void {
    this.statsData.deleteCalls += 1;
    void (async () => {
      await this.delay('delete');
      const failure = this.takeFailure('delete');
      if (failure && !failure.afterCommit) return callback({ code: failure.code, details: 'Injected failure' } as grpc.ServiceError);
      const options = call.request.getOptions()!;
      const stream = streamName(options.getStreamIdentifier());
      const expected = parseExpected(options, streamsPb.DeleteReq.Options.ExpectedStreamRevisionCase);
      const outcome = this.log.softDelete(stream, expected);
      if (failure) return callback({ code: failure.code, details: 'Injected failure after commit' } as grpc.ServiceError);
      const error = this.deleteError('Delete', stream, expected, outcome);
      if (error) return callback(error as grpc.ServiceError);
      const resp = new streamsPb.DeleteResp();
      if (outcome.kind === 'success' && outcome.position !== null) {
        const position = new streamsPb.DeleteResp.Position();
        position.setCommitPosition(outcome.position.toString());
        position.setPreparePosition(outcome.position.toString());
        resp.setPosition(position);
      } else {
        resp.setNoPosition(new sharedPb.Empty());
      }
      callback(null, resp);
    })().catch((error: unknown) => callback({ code: grpc.status.INTERNAL, details: String(error) } as grpc.ServiceError));
  }

  private handleTombstone(
    call: grpc.ServerUnaryCall<streamsPb.TombstoneReq, streamsPb.TombstoneResp>,
    callback: grpc.sendUnaryData<streamsPb.TombstoneResp>,
  ): void {
    this.statsData.tombstoneCalls += 1;
    void (async () => {
      await this.delay('tombstone');
      const failure = this.takeFailure('tombstone');
      if (failure && !failure.afterCommit) return callback({ code: failure.code, details: 'Injected failure' } as grpc.ServiceError);
      const options = call.request.getOptions()!;
      const stream = streamName(options.getStreamIdentifier());
      const expected = parseExpected(options, streamsPb.TombstoneReq.Options.ExpectedStreamRevisionCase);
      const outcome = this.log.tombstone(stream, expected);
      if (failure) return callback({ code: failure.code, details: 'Injected failure after commit' } as grpc.ServiceError);
      const error = this.deleteError('Delete', stream, expected, outcome);
      if (error) return callback(error as grpc.ServiceError);
      // Subscriptions to the tombstoned stream end with stream-deleted.
      for (const sub of [...this.subscriptions]) sub.onCommit();
      const resp = new streamsPb.TombstoneResp();
      if (outcome.kind === 'success' && outcome.position !== null) {
        const position = new streamsPb.TombstoneResp.Position();
        position.setCommitPosition(outcome.position.toString());
        position.setPreparePosition(outcome.position.toString());
        resp.setPosition(position);
      } else {
        resp.setNoPosition(new sharedPb.Empty());
      }
      callback(null, resp);
    })().catch((error: unknown) => callback({ code: grpc.status.INTERNAL, details: String(error) } as grpc.ServiceError));
  }

  private deleteError(operation: string, stream: string, expected: Expected, outcome: WriteOutcome): ServiceErrorLike | null {
    if (outcome.kind === 'stream_deleted') return streamDeletedError(stream);
    if (outcome.kind === 'wrong_expected_version') return wrongExpectedVersionError(operation, stream, expected, outcome.currentRevision);
    return null;
  }

  private handleAdmin(req: IncomingMessage, res: ServerResponse): void {
    this.statsData.adminRequests += 1;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, body?: unknown): void => {
      if (body === undefined) {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : '');
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    req.resume();
    if (url.pathname !== '/admin/scavenge') return reply(404);
    if (req.method !== 'POST') return reply(405);
    let username: string | null = null;
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      const expected = this.options.adminCredentials;
      if (!expected || (expected.username === user && expected.password === password)) username = user;
      else return reply(401);
    } else if (this.options.adminCredentials) {
      return reply(401);
    }
    const query: Record<string, string> = {};
    for (const [key, value] of url.searchParams) query[key] = value;
    for (const key of ['startFromChunk', 'threads', 'threshold']) {
      const value = query[key];
      if (value !== undefined && !/^-?\d+$/.test(value)) return reply(400, { error: `${key} must be an integer` });
    }
    if (query.threads !== undefined && Number(query.threads) < 1) return reply(400, { error: 'threads must be a 1 or above' });
    if (query.startFromChunk !== undefined && Number(query.startFromChunk) < 0) {
      return reply(400, { error: 'startFromChunk must be a positive integer' });
    }
    const { scavengeId } = this.scavenge();
    this.scavengeRequests.push({ query, username, scavengeId });
    reply(200, { scavengeId, result: 'Started' });
  }
}
