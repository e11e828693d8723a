/**
 * What the fault-injection suites share: an upload body, polling, checks on what a failed step
 * left behind (events, objects), and the env that points the service at the local test servers.
 */
import { expect } from 'vitest';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { base64Of, pngImage } from '../fixtures/images';
import type { OssTestServer } from '../support/oss-test-server/oss-test-server';

export const OSS_CREDENTIALS = {
  accessKeyId: 'LTAI5tFaultsAccessKey01',
  accessKeySecret: 'faults-secret-0123456789abcdefghijkl',
  bucket: 'pm-faults-test',
  region: 'cn-hangzhou',
} as const;

/** The service's env for Alibaba OSS mode against the local, signature-checking test server. */
export function ossEnv(server: OssTestServer): Record<string, string> {
  return {
    OSS_REGION: OSS_CREDENTIALS.region,
    OSS_BUCKET: OSS_CREDENTIALS.bucket,
    OSS_ACCESS_KEY_ID: OSS_CREDENTIALS.accessKeyId,
    OSS_ACCESS_KEY_SECRET: OSS_CREDENTIALS.accessKeySecret,
    OSS_ENDPOINT: server.endpoint,
    OSS_SECURE: 'false',
    OSS_PATH_STYLE: 'true',
  };
}

export interface UploadBody {
  readonly imageBase64: string;
  readonly contentType: string;
  readonly purpose: string;
  readonly faces: { x: number; y: number; width: number; height: number }[];
}

/** A small, real PNG upload (different bytes each call: `seed` varies the size). */
export async function uploadBody(purpose = 'photo-enlarge', seed = 0): Promise<UploadBody> {
  const image = await pngImage(24 + (seed % 16), 24);
  return { imageBase64: base64Of(image), contentType: image.contentType, purpose, faces: [{ x: 2, y: 2, width: 8, height: 8 }] };
}

export async function poll<T>(
  what: string,
  attempt: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
  /** What is still missing, for the failure message. */
  detail?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== null && value !== undefined && value !== false) return value;
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ''}${detail ? `: ${detail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A 503 from a dependency outage: problem+json with a code and a Retry-After header. */
export function expectUnavailable(res: { status: number; headers: Record<string, string>; body: { code?: string } }, code?: string | RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(503);
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(res.headers['content-type']).toContain('application/problem+json');
  if (typeof code === 'string') expect(res.body.code).toBe(code);
  else if (code) expect(res.body.code).toMatch(code);
  else expect(res.body.code).toMatch(/_UNAVAILABLE$|^ERASURE_IN_PROGRESS$/);
}

export function ofType(events: readonly StoredEvent[], type: string): StoredEvent[] {
  return events.filter((e) => e.type === type);
}

/** Keys of the OSS test server's objects under `prefix`. */
export function ossKeys(server: OssTestServer, prefix = ''): string[] {
  return [...server.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
}
