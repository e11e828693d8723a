import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { requestHash } from '../../../common/http/request-context';
import type { DomainEvent } from '../../../events/event-registry';
import { streams } from '../../../events/streams';
import { ProjectionRunner } from '../../../projections/projection-runner';
import { AppConfig } from '../../config/app-config';
import { foldSubject } from '../../consent/subject.state';
import { DerivedKeys } from '../../crypto/derived-keys';
import { deterministicUuid, EventLog, type CommandContext } from '../../event-store/event-log';
import { WrongExpectedVersionError } from '../../event-store/event-store.errors';
import type { Position } from '../../event-store/event-store.port';
import { hashDeviceSecret, verifyDeviceSecret } from '../device-secret/device-secret-hash';
import { foldDevice, usableSecretHash } from '../devices/device.state';
import { deviceAlreadyRegistered } from '../identity.errors';
import type { DeviceSession } from '../tokens/device-session';
import { TokenService } from '../tokens/token.service';
import { RegisterDeviceCommand } from './register-device.command';
import { ageBasisOf, decideDeviceBinding, decideSubjectOpening, resolveBoundRegistration, type AgeBasis } from './register-device.decider';
import { newId } from '../../../common/ids/uuid-v7';

export const REGISTER_DEVICE_OPERATION = 'POST /v1/devices';
const MAX_ATTEMPTS = 5;

@CommandHandler(RegisterDeviceCommand)
export class RegisterDeviceHandler implements ICommandHandler<RegisterDeviceCommand> {
  constructor(
    @Inject(EventLog) private readonly log: EventLog,
    @Inject(DerivedKeys) private readonly keys: DerivedKeys,
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(TokenService) private readonly tokens: TokenService,
    @Inject(ProjectionRunner) private readonly runner: ProjectionRunner,
  ) {}

  async execute(command: RegisterDeviceCommand): Promise<DeviceSession> {
    const ageBasis = ageBasisOf(command.isAdult, command.guardianConsent);
    const deviceHash = this.keys.deviceHash(command.deviceId);
    const deviceStream = streams.device(deviceHash);
    const key = command.idempotencyKey;
    // The request as an Idempotency-Key replay compares it: the keyed device hash stands for the
    // device id and the secret is left out (it is checked against its scrypt hash instead), so the
    // hash kept in event metadata reveals neither.
    const hashOfRequest = key
      ? requestHash(REGISTER_DEVICE_OPERATION, { deviceHash, isAdult: command.isAdult, guardianConsent: command.guardianConsent ?? null })
      : null;
    const fresh = newId();
    const subjectIdFor = (generation: number) => (key ? deterministicUuid('registered-subject', deviceHash, key, String(generation)) : fresh);
    const secretHash = await hashDeviceSecret(command.deviceSecret);

    let lastConflict: unknown = deviceAlreadyRegistered();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const loaded = await this.log.load(deviceStream);
      const device = foldDevice(loaded.events);
      const decision = decideDeviceBinding(device, { deviceHash, secretHash, subjectIdFor, requestHash: hashOfRequest });
      const context = this.contextFor(decision.subjectId, command, hashOfRequest);
      try {
        if (decision.kind === 'bind') {
          await this.log.append(deviceStream, decision.events, loaded.revision, context);
          return await this.openSubject(decision.subjectId, command.deviceId, ageBasis, context);
        }
        const subject = foldSubject((await this.log.load(streams.subject(decision.subjectId))).events);
        const stored = usableSecretHash(device);
        const mustVerify = decision.kind === 'replay' || subject.status === 'none';
        const secretMatches = mustVerify && stored !== null && (await verifyDeviceSecret(command.deviceSecret, stored));
        resolveBoundRegistration(decision, subject, secretMatches);
        return await this.openSubject(decision.subjectId, command.deviceId, ageBasis, context);
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        lastConflict = error;
      }
    }
    throw lastConflict;
  }

  /** Step (b), or a no-op when the subject is already open; then waits for the read models and issues a token. */
  private async openSubject(subjectId: string, deviceId: string, ageBasis: AgeBasis, context: CommandContext): Promise<DeviceSession> {
    const outcome = await this.log.decideAndAppend(streams.subject(subjectId), context, (loaded) => {
      const events: DomainEvent[] = decideSubjectOpening(foldSubject(loaded.events), { subjectId, deviceId, ageBasis, policyVersion: this.config.policyVersion });
      const last: Position | null = loaded.events.length > 0 ? loaded.events[loaded.events.length - 1].position : null;
      return { events, result: { last } };
    });
    const position = outcome.appended?.position ?? outcome.last;
    if (position) await this.runner.waitFor(position);
    const token = await this.tokens.issue(subjectId);
    return { subjectId, ...token };
  }

  private contextFor(subjectId: string, command: RegisterDeviceCommand, hashOfRequest: string | null): CommandContext {
    return {
      actor: `subject:${subjectId}`,
      correlationId: command.requestId,
      causationId: command.requestId,
      ...(command.idempotencyKey && hashOfRequest ? { idempotency: { key: command.idempotencyKey, requestHash: hashOfRequest } } : {}),
    };
  }
}
