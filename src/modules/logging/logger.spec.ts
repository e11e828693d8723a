import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRootLogger, requestLogView } from './logger';

describe('requestLogView', () => {
  it('shows the path and route of a matched request, never its query string', () => {
    expect(
      requestLogView({ method: 'GET', url: '/v1/images/abc?access_token=eyJhbGciOi.x.y', routeOptions: { url: '/v1/images/:imageId' }, ip: '203.0.113.9', socket: { remotePort: 4242 } }),
    ).toEqual({ method: 'GET', url: '/v1/images/abc', route: '/v1/images/:imageId', remoteAddress: '203.0.113.9', remotePort: 4242 });
  });

  it('hides the whole path of a request no route matches', () => {
    expect(requestLogView({ method: 'GET', url: '/v1/eyJhbGciOi.secret.token', is404: true, socket: { remoteAddress: '::1' } })).toMatchObject({ url: '[no such route]', route: undefined, remoteAddress: '::1' });
  });

  it('is the root logger’s req serializer', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    createRootLogger('info', sink).info({ req: { method: 'POST', url: '/v1/devices/token?deviceSecret=hunter2hunter2' } }, 'incoming request');
    expect(lines.join('')).not.toContain('hunter2');
    expect(JSON.parse(lines[0]).req).toMatchObject({ method: 'POST', url: '/v1/devices/token' });
  });
});
