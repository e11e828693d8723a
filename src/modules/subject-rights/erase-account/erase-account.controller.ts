import { Controller, Delete, HttpCode, Inject } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentSubject, SubjectOnly } from '../../../common/auth/auth.decorators';
import type { SubjectPrincipal } from '../../../common/auth/principal';
import { commandContext, RequestId } from '../../../common/http/request-context';
import { ApiProblems, SUBJECT_ROUTE_ERRORS } from '../../identity/api-problems.decorator';
import { EraseAccountCommand } from './erase-account.command';
import { ErasureResponseDto } from './erase-account.dto';

@ApiTags('subject rights')
@ApiBearerAuth()
@Controller('v1/me')
@SubjectOnly()
export class EraseAccountController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Delete()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Delete my account and everything held about me, now',
    description:
      'Records SubjectErasureStarted and kills the token at once; cancels unfinished jobs; deletes every original, artwork, temporary file ' +
      'and export (ImageDeleted / ArtworkDeleted / TempFileDeleted with reason erasure: what was held and when stays provable, the content ' +
      'does not); tombstones the operation log; releases the device (it may register again as a new subject); destroys the account’s data ' +
      'key (crypto-shredding: every personal field then reads "[shredded]", backups included); records SubjectErased with counts and ' +
      'times only; purges the event store. Crash-safe: an interrupted erasure is completed on restart. Afterwards the token answers 401 everywhere.',
  })
  @ApiOkResponse({ type: ErasureResponseDto })
  @ApiProblems(
    {
      status: 503,
      code: 'ERASURE_IN_PROGRESS',
      when: 'a storage outage interrupted the erasure after it started: the token is dead already, the body carries subjectId and receiptId, and the recovery sweep completes it',
    },
    ...SUBJECT_ROUTE_ERRORS,
  )
  async erase(@CurrentSubject() subject: SubjectPrincipal, @RequestId() requestId: string): Promise<ErasureResponseDto> {
    const receipt = await this.commandBus.execute(new EraseAccountCommand(subject.subjectId, commandContext(subject, requestId)));
    return { erasureReceipt: receipt };
  }
}
