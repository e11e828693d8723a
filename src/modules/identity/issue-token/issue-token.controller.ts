import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../../../common/auth/auth.decorators';
import { ApiProblems, BODY_ERRORS, UNAVAILABLE_ERRORS } from '../api-problems.decorator';
import { AuthRateLimitGuard } from '../auth-rate-limit.guard';
import { DeviceSession } from '../tokens/device-session';
import { IssueTokenCommand } from './issue-token.command';
import { IssueTokenDto } from './issue-token.dto';

@ApiTags('devices')
@Controller('v1/devices/token')
@Public()
export class IssueTokenController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Post()
  @HttpCode(200)
  @UseGuards(AuthRateLimitGuard)
  @ApiOperation({
    summary: 'Sign a device in: a short-lived access token',
    description:
      'Checks the secret against its scrypt hash. A wrong secret, an unknown device and an erased account get the same 401 in about the same ' +
      'time. Records no event; every attempt counts against the rate limit per IP and per device.',
  })
  @ApiOkResponse({ type: DeviceSession })
  @ApiProblems(
    ...BODY_ERRORS,
    { status: 401, code: 'INVALID_CREDENTIALS', when: 'the device is unknown or erased, or the secret is wrong (one answer for all)' },
    { status: 429, code: 'RATE_LIMITED', when: 'more than RATE_LIMIT_AUTH_PER_MINUTE attempts from this IP or for this device (see Retry-After)' },
    ...UNAVAILABLE_ERRORS,
  )
  async issue(@Body() body: IssueTokenDto): Promise<DeviceSession> {
    return this.commandBus.execute(new IssueTokenCommand(body.deviceId, body.deviceSecret));
  }
}
