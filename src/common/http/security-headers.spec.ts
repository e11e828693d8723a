import fastifyHelmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { precomputeSecurityHeaders } from './security-headers';

const OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      frameAncestors: ["'none'"],
    },
  },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  frameguard: { action: 'deny' },
};

async function answerHeaders(setup: (app: FastifyInstance) => Promise<void>, method: 'GET' | 'POST', url: string) {
  const app = Fastify({ logger: false });
  await setup(app);
  app.get('/thing', (_request, reply) => {
    void reply.send({ ok: true });
  });
  app.post('/thing', (_request, reply) => {
    void reply.code(201).send({ ok: true });
  });
  const response = await app.inject({ method, url, ...(method === 'POST' ? { payload: { a: 1 } } : {}) });
  await app.close();
  const headers = { ...response.headers };
  delete headers.date;
  return { status: response.statusCode, headers };
}

describe('precomputed security headers', () => {
  it('are exactly the headers @fastify/helmet sets, on every kind of answer (200, 201, 404)', async () => {
    const precomputed = await precomputeSecurityHeaders(OPTIONS);
    expect(precomputed['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(precomputed['x-frame-options']).toBe('DENY');
    expect(precomputed['cross-origin-resource-policy']).toBe('same-origin');
    for (const [method, url] of [
      ['GET', '/thing'],
      ['POST', '/thing'],
      ['GET', '/nowhere'],
    ] as const) {
      const viaPlugin = await answerHeaders(async (app) => {
        await app.register(fastifyHelmet, OPTIONS);
      }, method, url);
      const viaHook = await answerHeaders(async (app) => {
        app.addHook('onRequest', (_request, reply, done) => {
          void reply.headers(precomputed);
          done();
        });
      }, method, url);
      expect(viaHook).toEqual(viaPlugin);
    }
  });

  it('refuses options that differ per request (CSP nonces)', async () => {
    await expect(precomputeSecurityHeaders({ ...OPTIONS, enableCSPNonces: true })).rejects.toThrow(/nonces/);
  });
});
