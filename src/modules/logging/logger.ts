import { AsyncLocalStorage } from 'node:async_hooks';
import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/app-config';

/**
 * Paths redacted from every log line, wherever a careless call might put them. Image bytes,
 * device ids and secrets, tokens, face geometry and free text never reach a log.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  'authorization',
  '*.authorization',
  'imageBase64',
  '*.imageBase64',
  'image',
  '*.image',
  'bytes',
  '*.bytes',
  'deviceId',
  '*.deviceId',
  'deviceSecret',
  '*.deviceSecret',
  'secretHash',
  '*.secretHash',
  'accessToken',
  '*.accessToken',
  'token',
  '*.token',
  'faces',
  '*.faces',
  'details',
  '*.details',
  'masterKey',
  '*.masterKey',
  'body',
  '*.body',
];

/** The parts of a request (Fastify's, or Node's raw one) a log line may show. */
interface LoggedRequest {
  readonly method?: string;
  readonly url?: string;
  readonly is404?: boolean;
  readonly ip?: string;
  readonly routeOptions?: { readonly url?: string };
  readonly socket?: { readonly remoteAddress?: string; readonly remotePort?: number };
}

/**
 * How a request appears in the access log: its path without the query string (where a careless
 * client may put a token) and, for a path no route matches (which may be anything a client typed,
 * a token included), not even the path.
 */
export function requestLogView(req: LoggedRequest): Record<string, unknown> {
  const unmatched = req.is404 === true;
  return {
    method: req.method,
    url: unmatched ? '[no such route]' : (req.url ?? '').split('?')[0],
    route: unmatched ? undefined : req.routeOptions?.url,
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

export function createRootLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'photo-memory-facial-data' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // Also used by Fastify's request logging (a root serializer takes precedence over Fastify's own).
      serializers: { req: requestLogView },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

interface LogContext {
  readonly log: Logger;
}

const context = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `log` (a child logger carrying the request id) as the current logger. */
export function runWithLogger<T>(log: Logger, fn: () => T): T {
  return context.run({ log }, fn);
}

/** The request-scoped logger when inside a request, else the root logger. */
export function currentLogger(root: Logger): Logger {
  return context.getStore()?.log ?? root;
}

/** Nest's LoggerService on pino: every line JSON, with the request id when there is one. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Logger) {}

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, rest: unknown[]): void {
    const log = currentLogger(this.root);
    const ctx = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    if (message instanceof Error) {
      log[level]({ context: ctx, err: { type: message.name, message: message.message } }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      log[level]({ context: ctx, ...(message as Record<string, unknown>) });
    } else {
      log[level]({ context: ctx }, String(message));
    }
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    // Nest passes (message, stack, context): never log the stack of a request's error at info.
    const ctx = rest.length >= 2 ? rest[rest.length - 1] : rest[0];
    this.write('error', message, typeof ctx === 'string' ? [ctx] : []);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
}

/** Injectable handle on the root pino logger. */
export abstract class AppLogger {
  abstract readonly root: Logger;
  /** The request-scoped logger when called inside a request. */
  abstract get(): Logger;
}

export class PinoAppLogger extends AppLogger {
  constructor(readonly root: Logger) {
    super();
  }
  get(): Logger {
    return currentLogger(this.root);
  }
}
