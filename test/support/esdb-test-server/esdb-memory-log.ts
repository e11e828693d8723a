/**
 * The in-memory transaction log behind `EsdbTestServer`, with EventStoreDB's semantics (checked
 * against the server's `IndexWriter.CheckCommit`, `StorageWriterService` and read index):
 *
 * - one global log of records ordered by position (commit === prepare, increasing byte-like offsets);
 * - per-stream revisions; a tombstone is a `$streamDeleted` record at revision 2^63-1;
 * - stream metadata lives in `$$<stream>` (only its last event counts, like the server's
 *   metastream `$maxCount: 1`); `$tb`, `$maxCount`, `$maxAge` and soft deletes (`$tb` = 2^63-1)
 *   hide events from stream reads only, never from `$all`, until `scavenge()`;
 * - appends check the expected revision exactly like `CheckCommit`, including idempotent re-appends
 *   of the same event ids, "corrupted idempotency" (a partial match) as a wrong expected version,
 *   and re-creation of soft-deleted streams (which rewrites `$tb` to the first new revision).
 */

export const DELETED_STREAM = 9223372036854775807n; // EventNumber.DeletedStream
const SOFT_DELETE_THRESHOLD = 9.2e18; // $tb parsed as a JS number loses precision; anything this big is the marker
export const STREAM_DELETED_TYPE = '$streamDeleted';
export const METADATA_TYPE = '$metadata';

export interface EsdbRecord {
  readonly stream: string;
  readonly revision: bigint;
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  readonly created: Date;
  readonly position: bigint;
}

export interface ProposedEvent {
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
}

export type Expected =
  | { readonly kind: 'any' }
  | { readonly kind: 'no_stream' }
  | { readonly kind: 'stream_exists' }
  | { readonly kind: 'revision'; readonly revision: bigint };

export type WriteOutcome =
  | { readonly kind: 'success'; readonly currentRevision: bigint; readonly position: bigint | null }
  | { readonly kind: 'wrong_expected_version'; readonly currentRevision: bigint }
  | { readonly kind: 'stream_deleted' };

export type StreamReadOutcome =
  | { readonly kind: 'ok'; readonly records: readonly EsdbRecord[] }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'deleted' };

export interface ParsedStreamMetadata {
  readonly maxAge?: number;
  readonly maxCount?: number;
  readonly truncateBefore?: number;
  readonly softDeleted: boolean;
  readonly raw: Record<string, unknown>;
}

interface StreamEntry {
  readonly name: string;
  /** -1n when the stream never had an event; stays at the last written revision after a tombstone. */
  lastRevision: bigint;
  tombstoned: boolean;
  /** Records still on "disk", ordered by revision. */
  records: EsdbRecord[];
}

export interface ScavengeReport {
  readonly removedRecords: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function isMetastream(stream: string): boolean {
  return stream.startsWith('$$');
}

export function originalStreamOf(metastream: string): string {
  return metastream.slice(2);
}

export function metastreamOf(stream: string): string {
  return `$$${stream}`;
}

export class EsdbMemoryLog {
  private readonly streams = new Map<string, StreamEntry>();
  private log: EsdbRecord[] = [];
  /** Event id → where it was committed (the server's committed-events cache, unbounded here). */
  private readonly committed = new Map<string, { stream: string; revision: bigint }>();
  private nextPosition: bigint;
  private readonly listeners = new Set<(records: readonly EsdbRecord[]) => void>();

  constructor(private readonly now: () => Date) {
    // Position 0 holds the chunk header / epoch record, which is never an event.
    this.nextPosition = 256n;
  }

  /** Called after every commit with the records it wrote, in log order. */
  onCommit(listener: (records: readonly EsdbRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get lastPosition(): bigint | null {
    const last = this.log[this.log.length - 1];
    return last ? last.position : null;
  }

  records(): readonly EsdbRecord[] {
    return this.log;
  }

  /** First index in the log whose position is strictly greater than `position`. */
  indexAfter(position: bigint): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid]!.position <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index in the log whose position is greater than or equal to `position`. */
  indexAtOrAfter(position: bigint): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid]!.position < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  recordAt(index: number): EsdbRecord | undefined {
    return this.log[index];
  }

  get length(): number {
    return this.log.length;
  }

  isTombstoned(stream: string): boolean {
    const entry = this.streams.get(isMetastream(stream) ? originalStreamOf(stream) : stream);
    return entry?.tombstoned ?? false;
  }

  metadataOf(stream: string): ParsedStreamMetadata | null {
    const meta = this.streams.get(metastreamOf(stream));
    const last = meta?.records[meta.records.length - 1];
    if (!last) return null;
    let raw: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(decoder.decode(last.data));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
      raw = parsed as Record<string, unknown>;
    } catch {
      return null;
    }
    const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
    const truncateBefore = num(raw['$tb']);
    return {
      maxAge: num(raw['$maxAge']),
      maxCount: num(raw['$maxCount']),
      truncateBefore,
      softDeleted: truncateBefore !== undefined && truncateBefore >= SOFT_DELETE_THRESHOLD,
      raw,
    };
  }

  isSoftDeleted(stream: string): boolean {
    return this.metadataOf(stream)?.softDeleted ?? false;
  }

  /** The stream's events that a stream read may return, ordered by revision. */
  readStream(stream: string): StreamReadOutcome {
    if (isMetastream(stream)) {
      if (this.isTombstoned(stream)) return { kind: 'deleted' };
      const entry = this.streams.get(stream);
      const last = entry?.records[entry.records.length - 1];
      // A metastream keeps only its last event ($maxCount: 1).
      return last ? { kind: 'ok', records: [last] } : { kind: 'not_found' };
    }
    const entry = this.streams.get(stream);
    if (entry?.tombstoned) return { kind: 'deleted' };
    if (!entry || entry.lastRevision < 0n) return { kind: 'not_found' };
    const meta = this.metadataOf(stream);
    if (meta?.softDeleted) return { kind: 'not_found' };
    return { kind: 'ok', records: entry.records.filter((r) => this.isVisible(entry, r, meta)) };
  }

  private isVisible(entry: StreamEntry, record: EsdbRecord, meta: ParsedStreamMetadata | null): boolean {
    if (!meta) return true;
    if (meta.softDeleted) return false;
    if (meta.truncateBefore !== undefined && record.revision < BigInt(Math.floor(meta.truncateBefore))) return false;
    if (meta.maxCount !== undefined && record.revision <= entry.lastRevision - BigInt(Math.floor(meta.maxCount))) return false;
    if (meta.maxAge !== undefined && record.created.getTime() < this.now().getTime() - meta.maxAge * 1000) return false;
    return true;
  }

  private currentVersion(entry: StreamEntry | undefined): bigint {
    return entry?.lastRevision ?? -1n;
  }

  private hasMetadata(stream: string): boolean {
    const meta = this.streams.get(metastreamOf(stream));
    return (meta?.lastRevision ?? -1n) >= 0n;
  }

  private recordAtRevision(entry: StreamEntry | undefined, revision: bigint): EsdbRecord | undefined {
    if (!entry) return undefined;
    let lo = 0;
    let hi = entry.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entry.records[mid]!.revision < revision) lo = mid + 1;
      else hi = mid;
    }
    const found = entry.records[lo];
    return found && found.revision === revision ? found : undefined;
  }

  /**
   * EventStoreDB's commit check. Returns 'ok' (append at the end, `recreate` when the stream is
   * soft deleted), an idempotent result, a wrong expected version or a deleted stream.
   */
  private checkCommit(
    stream: string,
    expected: Expected,
    eventIds: readonly string[],
  ):
    | { kind: 'ok'; recreate: boolean }
    | { kind: 'idempotent'; endRevision: bigint }
    | { kind: 'wrong_expected_version'; currentRevision: bigint }
    | { kind: 'stream_deleted' } {
    if (isMetastream(stream) && this.isTombstoned(stream)) return { kind: 'stream_deleted' };
    const entry = this.streams.get(stream);
    if (entry?.tombstoned) return { kind: 'stream_deleted' };
    const cur = this.currentVersion(entry);
    const softDeleted = !isMetastream(stream) && this.isSoftDeleted(stream);

    if (expected.kind === 'stream_exists') {
      if (softDeleted) return { kind: 'stream_deleted' };
      if (cur < 0n && !this.hasMetadata(stream)) return { kind: 'wrong_expected_version', currentRevision: cur };
    }

    if (expected.kind === 'any' || expected.kind === 'stream_exists') {
      let first = true;
      let end = -1n;
      for (const id of eventIds) {
        const info = this.committed.get(id);
        if (!info || info.stream !== stream) {
          if (first) return { kind: 'ok', recreate: softDeleted };
          return { kind: 'wrong_expected_version', currentRevision: cur }; // corrupted idempotency
        }
        end = info.revision;
        first = false;
      }
      if (first) return { kind: 'ok', recreate: softDeleted };
      return { kind: 'idempotent', endRevision: end };
    }

    const expectedVersion = expected.kind === 'no_stream' ? -1n : expected.revision;
    if (expectedVersion < cur) {
      let revision = expectedVersion;
      for (const id of eventIds) {
        revision += 1n;
        const info = this.committed.get(id);
        if (info && info.stream === stream && info.revision === revision) continue;
        const onDisk = this.recordAtRevision(entry, revision);
        if (onDisk && onDisk.id === id) continue;
        if (revision !== expectedVersion + 1n) return { kind: 'wrong_expected_version', currentRevision: cur };
        if (expected.kind === 'no_stream' && softDeleted) return { kind: 'ok', recreate: true };
        return { kind: 'wrong_expected_version', currentRevision: cur };
      }
      if (revision === expectedVersion) return { kind: 'wrong_expected_version', currentRevision: cur };
      return { kind: 'idempotent', endRevision: revision };
    }
    if (expectedVersion > cur) return { kind: 'wrong_expected_version', currentRevision: cur };
    return { kind: 'ok', recreate: softDeleted };
  }

  append(stream: string, expected: Expected, events: readonly ProposedEvent[]): WriteOutcome {
    const check = this.checkCommit(
      stream,
      expected,
      events.map((e) => e.id),
    );
    switch (check.kind) {
      case 'stream_deleted':
        return { kind: 'stream_deleted' };
      case 'wrong_expected_version':
        return { kind: 'wrong_expected_version', currentRevision: check.currentRevision };
      case 'idempotent': {
        const record = this.recordAtRevision(this.streams.get(stream), check.endRevision);
        return { kind: 'success', currentRevision: check.endRevision, position: record ? record.position : null };
      }
      case 'ok':
        break;
    }
    const entry = this.streamEntry(stream);
    const previousVersion = entry.lastRevision;
    // Like the server, decided before the write: metadata written to a soft-deleted stream re-creates it.
    const undeleteOriginal = isMetastream(stream) && this.isSoftDeleted(originalStreamOf(stream));
    if (events.length === 0) {
      return { kind: 'success', currentRevision: previousVersion, position: null };
    }
    const created = this.now();
    const written: EsdbRecord[] = [];
    let revision = previousVersion;
    for (const event of events) {
      revision += 1n;
      written.push(this.writeRecord(entry, revision, event, created));
    }
    if (check.recreate) {
      // SoftUndeleteStream: keep the metadata, move $tb to the first new revision.
      written.push(...this.softUndelete(stream, previousVersion + 1n, created));
    }
    if (undeleteOriginal) {
      // SoftUndeleteMetastream: the new metadata, with $tb moved past the old events (re-created empty).
      const original = originalStreamOf(stream);
      written.push(...this.softUndelete(original, this.currentVersion(this.streams.get(original)) + 1n, created));
    }
    this.publish(written);
    const last = written.filter((r) => r.stream === stream).pop()!;
    return { kind: 'success', currentRevision: last.revision, position: last.position };
  }

  private softUndelete(stream: string, truncateBefore: bigint, created: Date): EsdbRecord[] {
    const meta = this.metadataOf(stream);
    if (!meta) return [];
    const updated = { ...meta.raw, $tb: Number(truncateBefore) };
    const metaEntry = this.streamEntry(metastreamOf(stream));
    return [
      this.writeRecord(
        metaEntry,
        metaEntry.lastRevision + 1n,
        {
          id: crypto.randomUUID(),
          type: METADATA_TYPE,
          contentType: 'application/json',
          data: encoder.encode(JSON.stringify(updated)),
          customMetadata: new Uint8Array(0),
        },
        created,
      ),
    ];
  }

  /** Soft delete: write `{"$tb": 2^63-1}` into the metastream (replacing all metadata). */
  softDelete(stream: string, expected: Expected): WriteOutcome {
    const check = this.checkCommit(stream, expected, [crypto.randomUUID()]);
    if (check.kind === 'stream_deleted') return { kind: 'stream_deleted' };
    if (check.kind === 'wrong_expected_version') return { kind: 'wrong_expected_version', currentRevision: check.currentRevision };
    const entry = this.streams.get(stream);
    if (this.currentVersion(entry) < 0n && !this.hasMetadata(stream)) {
      return { kind: 'wrong_expected_version', currentRevision: -1n };
    }
    const metaEntry = this.streamEntry(metastreamOf(stream));
    const record = this.writeRecord(
      metaEntry,
      metaEntry.lastRevision + 1n,
      {
        id: crypto.randomUUID(),
        type: METADATA_TYPE,
        contentType: 'application/json',
        data: encoder.encode(`{"$tb":${DELETED_STREAM.toString()}}`),
        customMetadata: new Uint8Array(0),
      },
      this.now(),
    );
    this.publish([record]);
    return { kind: 'success', currentRevision: this.currentVersion(entry), position: record.position };
  }

  /** Hard delete: a `$streamDeleted` record at revision 2^63-1; the stream can never be used again. */
  tombstone(stream: string, expected: Expected): WriteOutcome {
    const check = this.checkCommit(stream, expected, [crypto.randomUUID()]);
    if (check.kind === 'stream_deleted') return { kind: 'stream_deleted' };
    if (check.kind === 'wrong_expected_version') return { kind: 'wrong_expected_version', currentRevision: check.currentRevision };
    const entry = this.streamEntry(stream);
    const record = this.appendToLog({
      stream,
      revision: DELETED_STREAM,
      id: crypto.randomUUID(),
      type: STREAM_DELETED_TYPE,
      contentType: 'application/octet-stream',
      data: new Uint8Array(0),
      customMetadata: new Uint8Array(0),
      created: this.now(),
    });
    entry.records.push(record);
    entry.tombstoned = true;
    this.publish([record]);
    return { kind: 'success', currentRevision: DELETED_STREAM, position: record.position };
  }

  /** Append an event to a system stream without checks (used to seed `$settings` and the like). */
  writeSystemEvent(stream: string, type: string, data: unknown): EsdbRecord {
    const entry = this.streamEntry(stream);
    const record = this.writeRecord(
      entry,
      entry.lastRevision + 1n,
      {
        id: crypto.randomUUID(),
        type,
        contentType: 'application/json',
        data: encoder.encode(JSON.stringify(data)),
        customMetadata: new Uint8Array(0),
      },
      this.now(),
    );
    this.publish([record]);
    return record;
  }

  /**
   * Physically remove what metadata, soft deletes and tombstones hide. Like the server's scavenge,
   * the last event of every stream is kept (only a tombstone lets everything before it go), and a
   * metastream keeps its last event.
   */
  scavenge(): ScavengeReport {
    const removed = new Set<EsdbRecord>();
    for (const entry of this.streams.values()) {
      if (entry.records.length === 0) continue;
      const last = entry.records[entry.records.length - 1]!;
      let keep: (r: EsdbRecord) => boolean;
      if (isMetastream(entry.name)) {
        const original = this.streams.get(originalStreamOf(entry.name));
        keep = original?.tombstoned ? () => false : (r) => r === last;
      } else if (entry.tombstoned) {
        keep = (r) => r.type === STREAM_DELETED_TYPE && r.revision === DELETED_STREAM;
      } else {
        const meta = this.metadataOf(entry.name);
        keep = (r) => r === last || this.isVisible(entry, r, meta);
      }
      const kept: EsdbRecord[] = [];
      for (const r of entry.records) {
        if (keep(r)) kept.push(r);
        else removed.add(r);
      }
      entry.records = kept;
    }
    if (removed.size > 0) this.log = this.log.filter((r) => !removed.has(r));
    return { removedRecords: removed.size };
  }

  private streamEntry(stream: string): StreamEntry {
    let entry = this.streams.get(stream);
    if (!entry) {
      entry = { name: stream, lastRevision: -1n, tombstoned: false, records: [] };
      this.streams.set(stream, entry);
    }
    return entry;
  }

  private writeRecord(entry: StreamEntry, revision: bigint, event: ProposedEvent, created: Date): EsdbRecord {
    const record = this.appendToLog({ ...event, stream: entry.name, revision, created });
    entry.records.push(record);
    entry.lastRevision = revision;
    this.committed.set(event.id, { stream: entry.name, revision });
    return record;
  }

  private appendToLog(fields: Omit<EsdbRecord, 'position'>): EsdbRecord {
    const position = this.nextPosition;
    // A prepare record: header, ids, stream name, type, data and metadata, length prefix and suffix.
    const size =
      88 + encoder.encode(fields.stream).length + encoder.encode(fields.type).length + fields.data.length + fields.customMetadata.length;
    this.nextPosition += BigInt(size);
    const record: EsdbRecord = { ...fields, position };
    this.log.push(record);
    return record;
  }

  private publish(records: readonly EsdbRecord[]): void {
    for (const listener of [...this.listeners]) listener(records);
  }
}
