import { Command } from '@nestjs/cqrs';
import type { Readable } from 'node:stream';
import type { CommandContext } from '../../event-store/event-log';

export interface ExportArchive {
  /** The rights request the export is recorded under (`request-<id>`). */
  readonly requestId: string;
  readonly fileName: string;
  /** The zip, produced as it is read: one object decrypted at a time, never the whole archive in memory. */
  readonly stream: Readable;
  readonly files: readonly string[];
}

/** Exports everything held about the subject (GET /v1/me/export), recorded before the first byte goes out. */
export class ExportDataCommand extends Command<ExportArchive> {
  constructor(
    readonly subjectId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
