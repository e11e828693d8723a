import fastifyHelmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import Fastify from 'fastify';

/**
 * The security headers @fastify/helmet sets for `options`, computed once at start-up.
 *
 * @fastify/helmet builds helmet's whole middleware chain again on every request (parsing the CSP
 * directives, creating a dozen middlewares) to set headers that, with static options like ours
 * (no nonces, no per-request directive functions), are the same on every answer: about 4% of the
 * service's CPU on the content-read hot path. This runs the real plugin once, on a throw-away
 * Fastify instance, and keeps exactly what it added or removed, so the service can set the same
 * headers with one `reply.headers(...)` per request. Options that vary per request (CSP nonces)
 * are refused.
 */
export async function precomputeSecurityHeaders(options: FastifyHelmetOptions): Promise<Readonly<Record<string, string>>> {
  if (options.enableCSPNonces) throw new Error('CSP nonces differ per request: they cannot be precomputed');
  const plain = await probeHeaders(null);
  const secured = await probeHeaders(options);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(secured)) {
    if (plain[name] !== value && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return headers;
}

async function probeHeaders(options: FastifyHelmetOptions | null): Promise<Record<string, string | string[] | number | undefined>> {
  const probe = Fastify({ logger: false });
  try {
    if (options) await probe.register(fastifyHelmet, options);
    probe.get('/', (_request, reply) => {
      void reply.send('ok');
    });
    const response = await probe.inject({ method: 'GET', url: '/' });
    const headers = { ...response.headers };
    // Per-answer headers, not helmet's.
    delete headers.date;
    delete headers['content-length'];
    return headers;
  } finally {
    await probe.close();
  }
}
