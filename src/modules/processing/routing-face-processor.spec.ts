import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAiServer } from '../../../test/support/ai-server/fake-ai-server';
import { PURPOSES, type Purpose } from '../../events/purposes';
import { ProcessingError, type ProcessingInput } from './face-processor.port';
import { HttpFaceProcessor } from './http/http-face-processor';
import { SharpFaceProcessor } from './local/sharp-face-processor';
import { RoutingFaceProcessor } from './routing-face-processor';

let server: FakeAiServer;
let remote: HttpFaceProcessor;
let png: Buffer;
const local = new SharpFaceProcessor({ concurrency: 1 });

function input(purpose: Purpose): ProcessingInput {
  return { jobId: '5a5e7c1e-2222-4000-8000-000000000001', purpose, image: png, contentType: 'image/png', faces: [], options: {} };
}

beforeAll(async () => {
  png = await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: 120, g: 90, b: 60 } } }).png().toBuffer();
  server = new FakeAiServer();
  remote = new HttpFaceProcessor({ baseUrl: await server.start(), retryBaseDelayMs: 1 });
});

afterAll(async () => {
  await server.stop();
});

describe('RoutingFaceProcessor', () => {
  it('sends ai-edit and time-painting to the AI server and everything else to sharp', async () => {
    const router = new RoutingFaceProcessor({ local, remote });
    const remoteName = remote.identityFor('ai-edit').name;
    for (const purpose of PURPOSES) {
      const expected = purpose === 'ai-edit' || purpose === 'time-painting' ? remoteName : 'local-sharp';
      expect(router.identityFor(purpose).name).toBe(expected);
      expect(router.supports(purpose)).toBe(true);
    }
    const painted = await router.process(input('time-painting'));
    expect(painted.summary).toMatchObject({ model: 'fake-ai' });
    const enlarged = await router.process(input('photo-enlarge'));
    expect(enlarged.artwork).toMatchObject({ width: 48, height: 32 });
    expect(enlarged.summary).toMatchObject({ operation: 'lanczos3-2x' });
    expect(server.requests.map((r) => r.purpose)).toEqual(['time-painting']);
  });

  it('without an AI server keeps everything local, where ai-edit and time-painting are unsupported', async () => {
    const router = new RoutingFaceProcessor({ local });
    expect(router.identityFor('ai-edit').name).toBe('local-sharp');
    expect(router.supports('ai-edit')).toBe(false);
    expect(router.supports('time-painting')).toBe(false);
    expect(router.supports('photo-restore')).toBe(true);
    const error = await router.process(input('ai-edit')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessingError);
    expect(error).toMatchObject({ code: 'PROCESSOR_UNSUPPORTED' });
  });

  it('follows a configured list of remote purposes', () => {
    const router = new RoutingFaceProcessor({ local, remote, remotePurposes: ['photo-restore'] });
    expect(router.route('photo-restore')).toBe(remote);
    expect(router.route('ai-edit')).toBe(local);
    expect(router.supports('ai-edit')).toBe(false);
    expect(router.identityFor('photo-restore').name).toMatch(/^ai-server:127\.0\.0\.1:\d+$/);
  });
});
