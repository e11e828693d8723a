import { Module } from '@nestjs/common';
import { AuthRateLimiter, AuthRateLimitGuard } from './auth-rate-limit.guard';
import { IssueTokenController } from './issue-token/issue-token.controller';
import { IssueTokenHandler } from './issue-token/issue-token.handler';
import { RegisterDeviceController } from './register-device/register-device.controller';
import { RegisterDeviceHandler } from './register-device/register-device.handler';
import { SubjectStatusRegistry } from './subject-status.registry';
import { TokenService } from './tokens/token.service';

/** Device accounts: registration, sign-in, access tokens, and the token guard's subject status. */
@Module({
  controllers: [RegisterDeviceController, IssueTokenController],
  providers: [TokenService, SubjectStatusRegistry, AuthRateLimiter, AuthRateLimitGuard, RegisterDeviceHandler, IssueTokenHandler],
  exports: [TokenService, SubjectStatusRegistry],
})
export class IdentityModule {}
