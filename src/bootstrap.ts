import 'reflect-metadata';
import type { FastifyHelmetOptions } from '@fastify/helmet';
import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { mkdirSync } from 'node:fs';
import { AppModule, type AppOverrides } from './app.module';
import { DomainError } from './common/errors/domain-error';
import { parseJsonBody } from './common/http/json-body';
import { precomputeSecurityHeaders } from './common/http/security-headers';
import { answerClientError, cacheControlFor, documentTransportProblems, limitSmallBodies, missingHost, requestTimeouts } from './common/http/http-hardening';
import type { AppConfig } from './modules/config/app-config';
import { createRootLogger, PinoAppLogger, PinoNestLogger, runWithLogger } from './modules/logging/logger';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Security headers (helmet), the same on every answer: computed once, set by the onRequest hook. */
const SECURITY_HEADERS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", "'unsafe-inline'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      frameAncestors: ["'none'"],
    },
  },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  // Like frame-ancestors 'none': never framed, not even by this origin.
  frameguard: { action: 'deny' },
};

/** Deeper JSON than this is refused before validation walks it. */
export const MAX_JSON_DEPTH = 32;

function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

function validationProblem(errors: ValidationError[]): DomainError {
  const flat: { property: string; problems: string[] }[] = [];
  const walk = (list: ValidationError[], prefix: string) => {
    for (const error of list) {
      const property = prefix ? `${prefix}.${error.property}` : error.property;
      if (error.constraints) flat.push({ property, problems: Object.values(error.constraints) });
      if (error.children?.length) walk(error.children, property);
    }
  };
  walk(errors, '');
  const isUnknown = (f: { problems: string[] }) => f.problems.some((p) => p.includes('should not exist'));
  // A field of the wrong type (e.g. an object where an array belongs) is the error, not the
  // "unknown" properties validation then finds inside it.
  const wrongTypes = flat.filter((f) => !isUnknown(f));
  const unknown = flat.find((f) => isUnknown(f) && !wrongTypes.some((g) => f.property.startsWith(`${g.property}.`)));
  if (unknown) return new DomainError('UNKNOWN_FIELD', 400, `Unknown field: ${unknown.property}`, { errors: flat });
  return new DomainError('VALIDATION_FAILED', 400, flat.map((f) => `${f.property}: ${f.problems.join(', ')}`).join('; ') || 'Invalid request', { errors: flat });
}

/** Body limit: the Base64 of the largest upload, plus room for the rest of the JSON. */
export function bodyLimitFor(config: AppConfig): number {
  return Math.ceil(config.uploads.maxBytes / 3) * 4 + 64 * 1024;
}

/**
 * Builds the whole service (without listening). Used by main.ts, the end-to-end tests and the
 * benchmarks, so they all run exactly what production runs.
 */
export async function createApp(config: AppConfig, overrides: AppOverrides = {}): Promise<NestFastifyApplication> {
  mkdirSync(config.dataDir, { recursive: true });
  const logger = overrides.logger ?? new PinoAppLogger(createRootLogger(config.logLevel));
  const adapter = new FastifyAdapter({
    loggerInstance: logger.root,
    logController: new LogController({
      requestIdLogLabel: 'reqId',
      // Health probes would drown the access log.
      disableRequestLogging: (request: { url: string }) => request.url === '/health' || request.url === '/health/ready',
    }),
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    bodyLimit: bodyLimitFor(config),
    // Slow clients get 408 REQUEST_TIMEOUT once REQUEST_TIMEOUT has passed (see requestTimeouts).
    ...requestTimeouts(config.http.requestTimeoutMs),
    // What Node's parser refuses (431, malformed requests, 408) is answered as a problem too.
    clientErrorHandler: answerClientError,
    keepAliveTimeout: 72_000,
    trustProxy: config.http.trustProxy,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 256 },
  });
  const fastify = adapter.getInstance();

  // Only the upload takes a large body; every other route is limited to SMALL_BODY_LIMIT.
  fastify.addHook('onRoute', limitSmallBodies);

  // Helmet's headers, computed once (the plugin would rebuild its middleware on every request).
  const securityHeaders = await precomputeSecurityHeaders(SECURITY_HEADERS);
  // Every answer carries the security headers; every log line of a request carries its id; the id is echoed back.
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(securityHeaders);
    void reply.header('x-request-id', request.id);
    if (missingHost(request.raw)) {
      done(new DomainError('MALFORMED_REQUEST', 400, 'An HTTP/1.1 request needs a Host header'));
      return;
    }
    runWithLogger(request.log as unknown as Logger, done);
  });

  // Nothing the API answers (content, personal data, problems) belongs in a cache.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const cacheControl = cacheControlFor(request.url, reply.getHeader('cache-control'));
    if (cacheControl) void reply.header('Cache-Control', cacheControl);
    done(null, payload);
  });

  // JSON only (anything else is 415), with prototype-poisoning protection (the default parser's), and a depth limit.
  const defaultJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  const secureParse = (request: unknown, text: string): unknown => {
    let parsed: unknown;
    let failed: Error | null = null;
    defaultJson(request as never, text, (error: Error | null, value?: unknown) => {
      failed = error;
      parsed = value;
    });
    if (failed) throw failed;
    return parsed;
  };
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let value: unknown;
    try {
      // Large Base64 fields (uploads) are cut out of the bytes before parsing: see json-body.ts.
      value = parseJsonBody(body as Buffer, (text) => secureParse(request, text));
    } catch {
      return done(new DomainError('MALFORMED_JSON', 400, 'The body is not valid JSON, or uses a forbidden key such as __proto__ or constructor'), undefined);
    }
    if (exceedsDepth(value, MAX_JSON_DEPTH)) return done(new DomainError('JSON_TOO_DEEP', 400, `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    // Every body of the API is an object: an array or a scalar would reach validation as junk properties.
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return done(new DomainError('VALIDATION_FAILED', 400, 'The JSON body must be an object'), undefined);
    done(null, value);
  });

  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, { ...overrides, logger }), adapter, {
    logger: new PinoNestLogger(logger.root),
    bufferLogs: false,
    // A provider failing at boot (e.g. an unreadable HOLIDAYS_FILE) rejects createApp: main prints it and exits 1.
    abortOnError: false,
    // Our own JSON parser (above) stays in place: depth limit and prototype-poisoning refusal.
    bodyParser: false,
  });


  if (config.http.corsOrigins.length > 0) {
    app.enableCors({ origin: [...config.http.corsOrigins], methods: ['GET', 'POST', 'PUT', 'DELETE'], allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'], exposedHeaders: ['Retry-After', 'X-Request-Id'], maxAge: 600 });
  }

  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      forbidUnknownValues: true,
      stopAtFirstError: false,
      exceptionFactory: validationProblem,
    }),
  );

  const document = documentTransportProblems(SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Photo Memory facial-data compliance API')
      .setDescription(
        'Every action on facial data is an immutable event. Errors are application/problem+json with a stable `code`. ' +
          'POSTs that create something accept an Idempotency-Key header.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT or staff token' })
      .build(),
  ));
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });

  app.enableShutdownHooks();
  await app.init();
  await fastify.ready();
  return app;
}
