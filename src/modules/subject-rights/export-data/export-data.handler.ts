import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import { unauthorized } from '../../../common/errors/domain-error';
import type { DomainEvent } from '../../../events/event-registry';
import type { Purpose } from '../../../events/purposes';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { SubjectHistoryReader } from '../../audit/read-models/subject-history.reader';
import { Clock } from '../../clock/clock.port';
import { ConsentLedgerReader } from '../../consent/get-consents/consent-ledger.reader';
import { foldSubject } from '../../consent/subject.state';
import { EventLog, type CommandContext } from '../../event-store/event-log';
import type { Position } from '../../event-store/event-store.port';
import { foldArtwork } from '../../facial-data/artworks/artwork.state';
import { EncryptedObjects } from '../../facial-data/encrypted-objects';
import { foldImage } from '../../facial-data/images/image.state';
import { AppLogger } from '../../logging/logger';
import { BusinessCalendar } from '../business-calendar/business-calendar';
import { SubjectDataReadModel } from '../erase-account/subject-data.read-model';
import { RequestsReadModel } from '../requests/requests.read-model';
import { SYSTEM_RIGHTS } from '../submit-request/submit-request.decider';
import { ExportDataCommand, type ExportArchive } from './export-data.command';
import { newId } from '../../../common/ids/uuid-v7';

/** One object of the archive: where it goes in the zip and where it is stored. */
interface ExportObject {
  readonly kind: 'image' | 'artwork';
  readonly id: string;
  readonly path: string;
  readonly objectKey: string;
  readonly purpose: Purpose;
}

const EXTENSIONS: Readonly<Record<string, string>> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/heic': 'heic' };
export const EXPORT_JSON_FILES = ['history.json', 'consents.json', 'access-log.json', 'requests.json'] as const;
const MAX_RECORDED_FILES = 10_000;

/**
 * The subject's right to data portability (GET /v1/me/export). The export is recorded before the
 * first byte leaves: its own request stream gets RightsRequestReceived (type export),
 * DataExported (counts and file names) and RightsRequestFulfilled; every original and artwork put
 * in the archive gets a view with access purpose `data-export` (the access log shows them). Then
 * the zip is produced as the client reads it (yazl): each object is fetched and decrypted only
 * when its turn comes, so at most one object is in memory; the JSON files (history, consents,
 * access log, requests) come last and include this export.
 */
@CommandHandler(ExportDataCommand)
export class ExportDataHandler implements ICommandHandler<ExportDataCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(EncryptedObjects) private readonly objects: EncryptedObjects,
    @Inject(SubjectDataReadModel) private readonly data: SubjectDataReadModel,
    @Inject(SubjectHistoryReader) private readonly history: SubjectHistoryReader,
    @Inject(ConsentLedgerReader) private readonly consents: ConsentLedgerReader,
    @Inject(RequestsReadModel) private readonly requests: RequestsReadModel,
    @Inject(BusinessCalendar) private readonly calendar: BusinessCalendar,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  async execute(command: ExportDataCommand): Promise<ExportArchive> {
    const { subjectId } = command;
    const subject = foldSubject((await this.log.load(streams.subject(subjectId))).events);
    if (subject.status !== 'active') throw unauthorized('The token is invalid or expired');

    const objects = await this.heldObjects(subjectId);
    const files = [...objects.map((o) => o.path), ...EXPORT_JSON_FILES];
    const requestId = newId();
    const now = this.clock.now();
    const images = objects.filter((o) => o.kind === 'image').length;
    const recorded: DomainEvent[] = [
      {
        type: 'RightsRequestReceived',
        data: { requestId, subjectId, type: 'export', resource: null, details: null, receivedAt: now.toISOString(), dueAt: this.calendar.dueAt(now).toISOString(), needsDecision: false },
      },
      { type: 'DataExported', data: { requestId, subjectId, images, artworks: objects.length - images, files: files.slice(0, MAX_RECORDED_FILES) } },
      {
        type: 'RightsRequestFulfilled',
        data: { requestId, subjectId, decidedBy: SYSTEM_RIGHTS, outcome: { action: 'archive-streamed', files: files.length, href: '/v1/me/export' }, note: null },
      },
    ];
    const context: CommandContext = { ...command.context, idempotency: undefined };
    let last: Position = (await this.log.append(streams.request(requestId), recorded, 'no_stream', context)).position;
    for (const object of objects) {
      const view: DomainEvent =
        object.kind === 'image'
          ? { type: 'ImageViewed', data: { imageId: object.id, subjectId, purpose: 'data-export', dataPurpose: object.purpose } }
          : { type: 'ArtworkViewed', data: { artworkId: object.id, subjectId, purpose: 'data-export', dataPurpose: object.purpose } };
      last = (await this.log.append(object.kind === 'image' ? streams.image(object.id) : streams.artwork(object.id), [view], 'stream_exists', context)).position;
    }
    await this.runner.waitFor(last);
    this.logger.get().info({ requestId, images, artworks: objects.length - images }, 'data export recorded; streaming the archive');

    // The JSON documents are read now (they include this export); the objects only when the zip reaches them.
    const documents: [string, unknown][] = [
      ['history.json', { subjectId, exportedAt: now.toISOString(), events: await this.history.history(subjectId) }],
      ['consents.json', { subjectId, exportedAt: now.toISOString(), consents: this.consents.consentsOf(subjectId) }],
      ['access-log.json', { subjectId, exportedAt: now.toISOString(), accesses: this.history.accessLog(subjectId) }],
      ['requests.json', { subjectId, exportedAt: now.toISOString(), requests: await this.requests.listForSubject(subjectId) }],
    ];
    return { requestId, fileName: `photo-memory-export-${now.toISOString().slice(0, 10)}.zip`, stream: this.zip(subjectId, objects, documents, now), files };
  }

  /** Originals and artworks still held, as their own streams tell it (the read models only choose candidates). */
  private async heldObjects(subjectId: string): Promise<ExportObject[]> {
    const out: ExportObject[] = [];
    for (const imageId of this.data.storedImages(subjectId)) {
      const image = foldImage((await this.log.load(streams.image(imageId))).events);
      if (image.subjectId !== subjectId || image.deleted || !image.objectKey || !image.purpose || !image.contentType) continue;
      out.push({ kind: 'image', id: imageId, path: `originals/${imageId}.${EXTENSIONS[image.contentType]}`, objectKey: image.objectKey, purpose: image.purpose });
    }
    for (const artworkId of this.data.storedArtworks(subjectId)) {
      const artwork = foldArtwork((await this.log.load(streams.artwork(artworkId))).events);
      if (artwork.subjectId !== subjectId || artwork.deleted || !artwork.objectKey || !artwork.purpose || !artwork.contentType) continue;
      out.push({ kind: 'artwork', id: artworkId, path: `artworks/${artworkId}.${EXTENSIONS[artwork.contentType]}`, objectKey: artwork.objectKey, purpose: artwork.purpose });
    }
    return out;
  }

  private zip(subjectId: string, objects: readonly ExportObject[], documents: readonly [string, unknown][], mtime: Date): Readable {
    const zip = new ZipFile();
    const output = zip.outputStream;
    if (!(output instanceof Readable)) throw new Error('yazl: the output stream is not a Node.js Readable');
    zip.on('error', (error: Error) => {
      // Headers are gone already: the client sees a truncated download. No personal data in the log line.
      this.logger.root.warn({ subjectId, err: { type: error.name } }, 'data export archive failed while streaming');
      output.destroy(error);
    });
    for (const object of objects) {
      // Images are compressed already: stored as they are. Fetched and decrypted only when the zip gets to them.
      zip.addReadStreamLazy(object.path, { compress: false, mtime }, (callback) => {
        this.objects.get(subjectId, object.objectKey).then(
          (bytes) => callback(null, Readable.from([bytes])),
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), Readable.from([])),
        );
      });
    }
    for (const [name, document] of documents) zip.addBuffer(Buffer.from(`${JSON.stringify(document, null, 2)}\n`, 'utf8'), name, { mtime });
    zip.end();
    return output;
  }
}
