/**
 * The backstops of the retention policy against the real clients and local test servers: the OSS
 * bucket lifecycle rules ensured at boot (through `ali-oss` and the signature-checking OSS test
 * server), and EventStoreDB scavenges, started by the sweep's purge and on
 * EVENTSTORE_SCAVENGE_SCHEDULE (through `@eventstore/db-client` and the gRPC test server).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { AliOssObjectStorage } from '../../src/modules/object-storage/ali-oss/ali-oss-object-storage';
import { loadConfig } from '../../src/modules/config/app-config';
import { RetentionSweeper } from '../../src/modules/retention/sweep/retention-sweeper';
import { EsdbTestServer } from '../support/esdb-test-server/esdb-test-server';
import { OssTestServer } from '../support/oss-test-server/oss-test-server';
import { allEvents, settleAll, subjectWithConsent, sweep, uploadImage } from '../support/retention-flows';
import { startTestApp } from '../support/test-app';

const OSS = { accessKeyId: 'LTAI5tTestAccessKey01', accessKeySecret: 'test-secret-0123456789abcdefghijkl', bucket: 'pm-retention-test', region: 'cn-hangzhou' };

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('retention backstops (e2e)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  const start = async (options: Parameters<typeof startTestApp>[0]) => {
    const t = await startTestApp(options);
    cleanup.push(() => t.close());
    return t;
  };
  const ossStorage = (server: OssTestServer) => {
    const storage = new AliOssObjectStorage({ ...OSS, endpoint: server.endpoint, secure: false, pathStyle: true, retryBaseDelayMs: 2, retryMaxDelayMs: 10, maxRetries: 1, timeoutMs: 2000 });
    cleanup.push(() => storage.close());
    return storage;
  };

  it('OSS mode: at boot the bucket gets lifecycle rules expiring originals/ and tmp/ after 2 days, existing rules kept', async () => {
    const server = await OssTestServer.start(OSS);
    cleanup.push(() => server.close());
    await ossStorage(server).ensureLifecycleRules([{ id: 'someone-elses-rule', prefix: 'exports/', days: 30 }]);
    await start({ overrides: { objectStorage: ossStorage(server) } });
    expect(server.lifecycleRules()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'someone-elses-rule', prefix: 'exports/', expirationDays: 30 }),
        expect.objectContaining({ id: 'photo-memory-backstop-originals', prefix: 'originals/', status: 'Enabled', expirationDays: 2 }),
        expect.objectContaining({ id: 'photo-memory-backstop-tmp', prefix: 'tmp/', status: 'Enabled', expirationDays: 2 }),
      ]),
    );
    expect(server.lifecycleRules()).toHaveLength(3);
  });

  it('OSS unreachable at boot: the service starts anyway and the next sweep puts the rules in place', async () => {
    const server = await OssTestServer.start(OSS);
    cleanup.push(() => server.close());
    await server.stop();
    const t = await start({ overrides: { objectStorage: ossStorage(server) } });
    expect(server.lifecycleRules()).toEqual([]);
    await server.start();
    await t.app.get(RetentionSweeper).sweepOnce();
    expect(server.lifecycleRules().map((r) => r.prefix).sort()).toEqual(['originals/', 'tmp/']);
  });

  it('EventStoreDB: the sweep starts a scavenge to purge expired operation logs (recorded as scavenge-started), at most once an hour', async () => {
    const clock = new ManualClock('2026-03-02T02:00:00.000Z');
    const server = await EsdbTestServer.start({ now: () => clock.now() });
    cleanup.push(() => server.stop());
    const t = await start({
      clock,
      env: { EVENTSTORE_CONNECTION_STRING: server.connectionString, EVENTSTORE_ADMIN_URL: server.adminUrl },
    });
    const subject = await subjectWithConsent(t, 'photo-restore');
    await uploadImage(t, subject, 'photo-restore');
    clock.advance(30 * 60_000);
    await uploadImage(t, subject, 'photo-restore');
    await settleAll(t);
    expect(await t.store.getStreamMetadata(`oplog-${subject.subjectId}`)).toEqual({ maxAge: 7 * 24 * 3600 });
    clock.set('2026-03-09T02:00:01.000Z'); // the first entry expired 1 s ago
    const before = server.scavengeRequestLog.length;
    const report = await sweep(t);
    expect(report.oplogPurge).toMatchObject({ purged: true, mode: 'scavenge-started', entriesRemoved: 1 });
    expect(server.scavengeRequestLog.length).toBe(before + 1);
    expect((await allEvents(t, 'OperationLogsPurged'))[0].data).toMatchObject({ mode: 'scavenge-started', entriesRemoved: 1, maxAgeSeconds: 604_800 });

    // The second entry expires 30 min later: no second scavenge within the hour (it stays unreadable meanwhile).
    clock.advance(30 * 60_000);
    expect((await sweep(t)).oplogPurge).toMatchObject({ purged: false, skipped: 'scavenge-started-recently' });
    expect(server.scavengeRequestLog.length).toBe(before + 1);
    clock.advance(30 * 60_000);
    expect((await sweep(t)).oplogPurge).toMatchObject({ purged: true, mode: 'scavenge-started', entriesRemoved: 1 });
    expect(server.scavengeRequestLog.length).toBe(before + 2);
  });

  it('EVENTSTORE_SCAVENGE_SCHEDULE starts scavenges through the admin API on its schedule (schedulers on)', async () => {
    const server = await EsdbTestServer.start();
    cleanup.push(() => server.stop());
    await start({
      clock: new ManualClock(new Date()),
      overrides: { schedulers: true },
      env: {
        EVENTSTORE_CONNECTION_STRING: server.connectionString,
        EVENTSTORE_ADMIN_URL: server.adminUrl,
        EVENTSTORE_SCAVENGE_SCHEDULE: '* * * * * *',
        RETENTION_SWEEP_INTERVAL: 'PT1H',
      },
    });
    await until(() => server.scavengeRequestLog.length >= 2);
  });

  it('an invalid EVENTSTORE_SCAVENGE_SCHEDULE stops the service at boot with a message naming it', () => {
    for (const schedule of ['61 * * * *', 'every night', '0 3 * *']) {
      expect(() => loadConfig({ DATA_DIR: '/tmp/unused', EVENTSTORE_SCAVENGE_SCHEDULE: schedule })).toThrow(/EVENTSTORE_SCAVENGE_SCHEDULE must be a cron expression/);
    }
    expect(loadConfig({ DATA_DIR: '/tmp/unused', EVENTSTORE_SCAVENGE_SCHEDULE: '0 3 * * *' }).eventStore.scavengeSchedule).toBe('0 3 * * *');
  });
});
