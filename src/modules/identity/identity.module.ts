import { Module } from '@nestjs/common';
import { SubjectStatusRegistry } from './subject-status.registry';
import { TokenService } from './tokens/token.service';

@Module({
  providers: [TokenService, SubjectStatusRegistry],
  exports: [TokenService, SubjectStatusRegistry],
})
export class IdentityModule {}
