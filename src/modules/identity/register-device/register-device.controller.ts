import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../../../common/auth/auth.decorators';
import { IdempotencyKey, RequestId } from '../../../common/http/request-context';
import { ApiProblems, BODY_ERRORS, UNAVAILABLE_ERRORS } from '../api-problems.decorator';
import { AuthRateLimitGuard } from '../auth-rate-limit.guard';
import { DeviceSession } from '../tokens/device-session';
import { RegisterDeviceCommand } from './register-device.command';
import { RegisterDeviceDto } from './register-device.dto';

@ApiTags('devices')
@Controller('v1/devices')
@Public()
export class RegisterDeviceController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Post()
  @HttpCode(201)
  @UseGuards(AuthRateLimitGuard)
  @ApiOperation({
    summary: 'Register a device (open an account)',
    description:
      'The device id is the account identifier. Records DeviceRegistered in device-<keyed hash of the device id> (only a scrypt hash of the secret, ' +
      'encrypted), then SubjectRegistered (device id encrypted) and AdultConfirmed or GuardianConsentRecorded in subject-<id>. A minor needs ' +
      "guardianConsent: true. A registration interrupted between those two steps is finished by a retry with the same device id and secret. " +
      'The same Idempotency-Key and body answers the first subject again (with a fresh token) without writing anything. Rate limited per IP and per device.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1–128 visible ASCII characters' })
  @ApiCreatedResponse({ type: DeviceSession })
  @ApiProblems(
    ...BODY_ERRORS,
    { status: 400, code: 'INVALID_IDEMPOTENCY_KEY', when: 'the Idempotency-Key header is not 1–128 visible ASCII characters' },
    { status: 409, code: 'DEVICE_ALREADY_REGISTERED', when: 'the device is already bound to an account' },
    { status: 409, code: 'CONCURRENCY_CONFLICT', when: 'a concurrent registration of the device kept winning; retry' },
    { status: 422, code: 'GUARDIAN_CONSENT_REQUIRED', when: 'isAdult is false and guardianConsent is not true' },
    { status: 422, code: 'IDEMPOTENCY_KEY_REUSED', when: 'this Idempotency-Key was used for this device with a different body' },
    { status: 429, code: 'RATE_LIMITED', when: 'more than RATE_LIMIT_AUTH_PER_MINUTE attempts from this IP or for this device (see Retry-After)' },
    ...UNAVAILABLE_ERRORS,
  )
  async register(@Body() body: RegisterDeviceDto, @RequestId() requestId: string, @IdempotencyKey() idempotencyKey: string | undefined): Promise<DeviceSession> {
    return this.commandBus.execute(new RegisterDeviceCommand(body.deviceId, body.deviceSecret, body.isAdult, body.guardianConsent, requestId, idempotencyKey));
  }
}
