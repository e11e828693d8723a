/**
 * The end-to-end harness: the whole service on a temporary DATA_DIR (embedded stores), driven
 * over HTTP with supertest, with helpers to see exactly which events each step appended.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { AppOverrides } from '../../src/app.module';
import { createApp } from '../../src/bootstrap';
import { ManualClock } from '../../src/modules/clock/clock.port';
import { loadConfig, type AppConfig } from '../../src/modules/config/app-config';
import { EventStore, type Position, type StoredEvent } from '../../src/modules/event-store/event-store.port';
import { ProjectionRunner } from '../../src/projections/projection-runner';

export const STAFF = {
  auditor: 'auditor-secret-0123456789abcdef',
  dpo: 'dpo-secret-0123456789abcdef0123',
} as const;

export interface TestApp {
  readonly app: NestFastifyApplication;
  readonly config: AppConfig;
  readonly clock: ManualClock;
  readonly dataDir: string;
  readonly store: EventStore;
  /** A supertest agent on the app's HTTP server. */
  http(): ReturnType<typeof request>;
  /** Marks "now" in the log: `eventsSince(mark)` returns what was appended after it. */
  mark(): Promise<Position | 'start'>;
  eventsSince(mark: Position | 'start'): Promise<StoredEvent[]>;
  /** Waits until projections have applied everything in the log. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly env?: Record<string, string>;
  readonly overrides?: AppOverrides;
  /** Reuse a DATA_DIR (restart scenarios). */
  readonly dataDir?: string;
  readonly clock?: ManualClock;
  /** Keep the DATA_DIR on close (default: removed unless it was given). */
  readonly keepDataDir?: boolean;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pm-e2e-'));
  const clock = options.clock ?? new ManualClock('2026-03-02T02:00:00.000Z');
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    STAFF_TOKENS: `auditor:alice:${STAFF.auditor},dpo:dora:${STAFF.dpo}`,
    RATE_LIMIT_SUBJECT_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    ...options.env,
  });
  const app = await createApp(config, { clock, schedulers: false, ...options.overrides });
  const store = app.get(EventStore);
  const runner = app.get(ProjectionRunner);
  const server = app.getHttpServer();
  return {
    app,
    config,
    clock,
    dataDir,
    store,
    http: () => request(server),
    mark: async () => (await store.headPosition()) ?? 'start',
    eventsSince: async (mark) => {
      const out: StoredEvent[] = [];
      for await (const event of store.readAll({ fromPosition: mark })) out.push(event);
      return out;
    },
    settle: async () => {
      const head = await store.headPosition();
      if (head) await runner.waitFor(head, 10_000);
    },
    close: async () => {
      await app.close();
      if (!options.dataDir && !options.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir`, for raw searches of what is on disk. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(dir);
  return out;
}

/** The files under `dir` whose raw bytes contain `needle`. */
export function filesContaining(dir: string, needle: Buffer | string): string[] {
  const bytes = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : needle;
  return filesUnder(dir).filter((file) => readFileSync(file).includes(bytes));
}

/** Registers a device and returns its subject id and token. */
export async function registerSubject(t: TestApp, deviceId = `device-${Math.random().toString(36).slice(2)}`): Promise<{ subjectId: string; token: string; deviceId: string; deviceSecret: string }> {
  const deviceSecret = `secret-${'x'.repeat(40)}-${Math.random().toString(36).slice(2)}`;
  const res = await t.http().post('/v1/devices').send({ deviceId, deviceSecret, isAdult: true });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { subjectId: res.body.subjectId, token: res.body.accessToken, deviceId, deviceSecret };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
