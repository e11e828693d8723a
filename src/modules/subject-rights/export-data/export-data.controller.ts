import { Controller, Get, Inject, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId } from '../../../common/http/request-context';
import { ApiProblems, SUBJECT_ROUTE_ERRORS } from '../../identity/api-problems.decorator';
import { ExportDataCommand } from './export-data.command';

@ApiTags('subject rights')
@ApiBearerAuth()
@Controller('v1/me')
@SubjectOnly()
export class ExportDataController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Get('export')
  @ApiOperation({
    summary: 'Everything held about me, as a zip',
    description:
      'The originals (`originals/<imageId>.<ext>`) and artworks (`artworks/<artworkId>.<ext>`) still held, decrypted, plus history.json, ' +
      'consents.json, access-log.json and requests.json. Recorded before it is sent: a request stream with RightsRequestReceived (export), ' +
      'DataExported and RightsRequestFulfilled, and a view with access purpose data-export for every object included. The archive is ' +
      'streamed (chunked) as it is produced, one object decrypted at a time. The response carries X-Request-Record with the request id.',
  })
  @ApiProduces('application/zip')
  @ApiOkResponse({ description: 'The zip archive', schema: { type: 'string', format: 'binary' } })
  @ApiProblems(
    { status: 503, code: 'OBJECT_STORAGE_UNAVAILABLE', when: 'object storage is down before the archive started (see Retry-After)' },
    ...SUBJECT_ROUTE_ERRORS,
  )
  async export(@CurrentSubject() subject: SubjectPrincipal, @RequestId() requestId: string, @Res() reply: FastifyReply): Promise<void> {
    const archive = await this.commandBus.execute(new ExportDataCommand(subject.subjectId, commandContext(subject, requestId)));
    void reply
      .header('Content-Type', 'application/zip')
      .header('Content-Disposition', `attachment; filename="${archive.fileName}"`)
      .header('Cache-Control', 'no-store')
      .header('X-Request-Record', archive.requestId)
      .send(archive.stream);
  }
}
