import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../../common/auth/auth.decorators';
import { ProjectionRunner } from '../../projections/projection-runner';
import { EventStore } from '../event-store/event-store.port';
import { ObjectStorage } from '../object-storage/object-storage.port';

type Check = { status: 'up' | 'down'; [detail: string]: unknown };

async function probe(name: string, fn: () => Promise<void>, timeoutMs = 2_000): Promise<[string, Check]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      }),
    ]);
    return [name, { status: 'up' }];
  } catch (error) {
    return [name, { status: 'down', message: error instanceof Error ? error.message : 'unavailable' }];
  } finally {
    clearTimeout(timer);
  }
}

@ApiTags('operations')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    @Inject(EventStore) private readonly eventStore: EventStore,
    @Inject(ObjectStorage) private readonly storage: ObjectStorage,
    @Inject(ProjectionRunner) private readonly projections: ProjectionRunner,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: event store and object storage answer, projections caught up' })
  @ApiOkResponse({ description: 'Ready' })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down or projections are behind' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: 'ok' | 'error'; checks: Record<string, Check> }> {
    const checks = Object.fromEntries(
      await Promise.all([probe('eventStore', () => this.eventStore.checkHealth()), probe('objectStorage', () => this.storage.checkHealth())]),
    ) as Record<string, Check>;
    const runner = this.projections.status();
    const head = await this.eventStore.headPosition().catch(() => null);
    const checkpoint = runner.checkpoint;
    const behind = head && checkpoint ? BigInt(head.commit) - BigInt(checkpoint.commit) : head ? BigInt(head.commit) : 0n;
    checks.projections = {
      status: runner.running && runner.caughtUp && !runner.failed ? 'up' : 'down',
      caughtUp: runner.caughtUp,
      failed: runner.failed,
      checkpoint,
      head: head ? { commit: head.commit.toString(), prepare: head.prepare.toString() } : null,
      behindPositions: behind.toString(),
    };
    const ok = Object.values(checks).every((c) => c.status === 'up');
    if (!ok) void reply.status(503).header('Retry-After', '5');
    return { status: ok ? 'ok' : 'error', checks };
  }
}
