import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { streams } from '../../../events/streams';
import { foldSubject, initialSubjectState } from '../../consent/subject.state';
import { DerivedKeys } from '../../crypto/derived-keys';
import { EventLog } from '../../event-store/event-log';
import { dummyVerifyDeviceSecret, verifyDeviceSecret } from '../device-secret/device-secret-hash';
import { foldDevice, usableSecretHash } from '../devices/device.state';
import { SubjectStatusRegistry } from '../subject-status.registry';
import type { DeviceSession } from '../tokens/device-session';
import { TokenService } from '../tokens/token.service';
import { IssueTokenCommand } from './issue-token.command';
import { decideTokenIssue } from './issue-token.decider';

@CommandHandler(IssueTokenCommand)
export class IssueTokenHandler implements ICommandHandler<IssueTokenCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(DerivedKeys) private readonly keys: DerivedKeys,
    @Inject(TokenService) private readonly tokens: TokenService,
    @Inject(SubjectStatusRegistry) private readonly registry: SubjectStatusRegistry,
  ) {}

  async execute(command: IssueTokenCommand): Promise<DeviceSession> {
    const device = foldDevice((await this.log.load(streams.device(this.keys.deviceHash(command.deviceId)))).events);
    const stored = usableSecretHash(device);
    // Unknown and released devices cost one scrypt too: their answer time matches a wrong secret's.
    const secretMatches = stored !== null ? await verifyDeviceSecret(command.deviceSecret, stored) : await dummyVerifyDeviceSecret(command.deviceSecret);
    const subject = secretMatches && device.subjectId ? foldSubject((await this.log.load(streams.subject(device.subjectId))).events) : initialSubjectState;
    const subjectId = decideTokenIssue(device, subject, secretMatches, device.subjectId !== null && this.registry.isActive(device.subjectId));
    const token = await this.tokens.issue(subjectId);
    return { subjectId, ...token };
  }
}
