import { validateCronExpression } from 'cron';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { formatIsoDuration, parseIsoDuration } from './iso-duration';

/** The published privacy policy's limits. Config may be stricter, never looser. */
export const POLICY_LIMITS = {
  originalMaxMs: 24 * 3_600_000,
  oplogMaxMs: 7 * 86_400_000,
  /** "Temporary files cleared immediately": the sweep's backstop may not wait longer than this. */
  tempFileMaxMs: 5 * 60_000,
} as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface StaffToken {
  readonly role: 'auditor' | 'dpo';
  readonly name: string;
  readonly secret: string;
}

export interface OssConfig {
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly endpoint?: string;
  readonly serverSideEncryption: 'AES256' | 'KMS' | 'SM4';
  readonly kmsKeyId?: string;
  readonly authorizationV4: boolean;
  /** https (default). Plain http only for a loopback OSS_ENDPOINT (a local test server). */
  readonly secure: boolean;
  /** Path-style requests (`endpoint/bucket/key`), for an OSS_ENDPOINT that is an address, e.g. a local test server. */
  readonly pathStyle: boolean;
}

/** http://127.0.0.1:PORT, http://localhost, http://[::1]: the only endpoints OSS_SECURE=false accepts. */
export function isLoopbackUrl(raw: string): boolean {
  try {
    const host = new URL(raw).hostname.toLowerCase();
    return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

/**
 * The service's configuration, validated once at boot. Inject `AppConfig`; never read
 * `process.env` elsewhere.
 */
export class AppConfig {
  constructor(
    readonly port: number,
    readonly host: string,
    readonly dataDir: string,
    /** This instance's read-model database (each instance keeps its own). */
    readonly readModelsFile: string,
    readonly logLevel: LogLevel,
    readonly instanceId: string,
    readonly eventStore: {
      readonly connectionString?: string;
      readonly adminUrl?: string;
      readonly adminUsername?: string;
      readonly adminPassword?: string;
      readonly scavengeSchedule?: string;
      readonly maxInFlightAppends: number;
    },
    readonly masterKey: string | undefined,
    readonly tokens: { readonly secret: string | undefined; readonly ttlSeconds: number },
    readonly staffTokens: readonly StaffToken[],
    readonly policyVersion: string,
    readonly uploads: { readonly maxBytes: number; readonly maxPixels: number },
    readonly oss: OssConfig | undefined,
    readonly processing: {
      readonly aiProcessorUrl?: string;
      readonly aiProcessorToken?: string;
      readonly aiProcessorTimeoutMs: number;
      readonly concurrency: number;
      readonly leaseMs: number;
      readonly maxAttempts: number;
    },
    readonly retention: {
      readonly originalMaxMs: number;
      readonly oplogMaxMs: number;
      readonly tempFileMaxMs: number;
      readonly sweepIntervalMs: number;
      /** Unreferenced objects older than this are removed by the sweep. */
      readonly orphanGraceMs: number;
    },
    readonly rights: { readonly holidaysFile?: string; readonly sweepIntervalMs: number },
    readonly http: {
      readonly requestTimeoutMs: number;
      readonly corsOrigins: readonly string[];
      readonly subjectRateLimitPerMinute: number;
      readonly authRateLimitPerMinute: number;
      readonly trustProxy: boolean;
    },
  ) {}

  get usesEventStoreDb(): boolean {
    return this.eventStore.connectionString !== undefined;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and validates every variable; collects all problems and throws one ConfigError naming them. */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  };
  const duration = (name: string, fallbackIso: string, opts: { minMs?: number; maxMs?: number; policy?: string } = {}): number => {
    const raw = read(name) ?? fallbackIso;
    let ms: number;
    try {
      ms = parseIsoDuration(raw);
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
      return parseIsoDuration(fallbackIso);
    }
    if (opts.minMs !== undefined && ms < opts.minMs) problems.push(`${name} must be at least ${formatIsoDuration(opts.minMs)} (got ${raw})`);
    if (opts.maxMs !== undefined && ms > opts.maxMs) {
      problems.push(
        opts.policy
          ? `${name}=${raw} is longer than the published privacy policy allows (${opts.policy}); it may be shorter, never longer`
          : `${name} must be at most ${formatIsoDuration(opts.maxMs)} (got ${raw})`,
      );
    }
    return ms;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
    if (['false', '0', 'no'].includes(raw.toLowerCase())) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };
  const url = (name: string): string | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!['http:', 'https:'].includes(parsed.protocol)) throw new Error('protocol');
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be an http(s) URL (got "${raw}")`);
      return undefined;
    }
  };

  const port = int('PORT', 3000, 0, 65_535);
  const host = read('HOST') ?? '0.0.0.0';
  const dataDir = resolve(read('DATA_DIR') ?? './data');
  const readModelsFile = resolve(read('READ_MODELS_FILE') ?? `${dataDir}/readmodels.db`);
  const logLevelRaw = (read('LOG_LEVEL') ?? 'info').toLowerCase();
  const logLevel = (LOG_LEVELS as readonly string[]).includes(logLevelRaw) ? (logLevelRaw as LogLevel) : 'info';
  if (logLevel !== logLevelRaw) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevelRaw}")`);
  const instanceId = read('INSTANCE_ID') ?? `${hostname()}-${process.pid}`;

  const connectionString = read('EVENTSTORE_CONNECTION_STRING');
  if (connectionString !== undefined && !/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kdb|kdb\+discover):\/\//.test(connectionString)) {
    problems.push(`EVENTSTORE_CONNECTION_STRING must be an esdb:// or kurrentdb:// connection string (got a value of another form)`);
  }
  const scavengeSchedule = read('EVENTSTORE_SCAVENGE_SCHEDULE');
  if (scavengeSchedule !== undefined && (scavengeSchedule.split(/\s+/).length < 5 || !validateCronExpression(scavengeSchedule).valid)) {
    problems.push(`EVENTSTORE_SCAVENGE_SCHEDULE must be a cron expression such as "0 3 * * *" (UTC) (got "${scavengeSchedule}")`);
  }

  const masterKey = read('MASTER_KEY');
  if (masterKey !== undefined && Buffer.from(masterKey, 'base64').length !== 32) {
    problems.push('MASTER_KEY must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)');
  }
  const tokenSecret = read('TOKEN_SECRET');
  if (tokenSecret !== undefined && tokenSecret.length < 32) problems.push('TOKEN_SECRET must be at least 32 characters');
  const tokenTtlMs = duration('TOKEN_TTL', 'PT15M', { minMs: 60_000, maxMs: 24 * 3_600_000 });

  const staffTokens: StaffToken[] = [];
  const staffRaw = read('STAFF_TOKENS');
  if (staffRaw !== undefined) {
    for (const entry of staffRaw.split(',').map((e) => e.trim()).filter(Boolean)) {
      const [role, name, ...rest] = entry.split(':');
      const secret = rest.join(':');
      if ((role !== 'auditor' && role !== 'dpo') || !name || !/^[A-Za-z0-9._-]{1,64}$/.test(name) || secret.length < 16) {
        problems.push('STAFF_TOKENS entries must be role:name:secret with role auditor or dpo, a simple name and a secret of 16+ characters');
        continue;
      }
      if (staffTokens.some((t) => t.secret === secret)) problems.push('STAFF_TOKENS secrets must be unique');
      staffTokens.push({ role, name, secret });
    }
  }

  const policyVersion = read('POLICY_VERSION') ?? '2025-06-24';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(policyVersion)) problems.push('POLICY_VERSION must be a short version string such as 2025-06-24');

  const maxBytes = int('UPLOAD_MAX_BYTES', 10 * 1024 * 1024, 1024, 50 * 1024 * 1024);
  const maxPixels = int('IMAGE_MAX_PIXELS', 100_000_000, 1, 500_000_000);

  let oss: OssConfig | undefined;
  const ossVars = ['OSS_REGION', 'OSS_BUCKET', 'OSS_ACCESS_KEY_ID', 'OSS_ACCESS_KEY_SECRET'];
  const ossSet = ossVars.filter((name) => read(name) !== undefined);
  if (ossSet.length > 0 && ossSet.length < ossVars.length) {
    problems.push(`OSS mode needs all of ${ossVars.join(', ')}; missing ${ossVars.filter((n) => !ossSet.includes(n)).join(', ')}`);
  } else if (ossSet.length === ossVars.length) {
    const sse = (read('OSS_SSE') ?? 'AES256') as OssConfig['serverSideEncryption'];
    if (!['AES256', 'KMS', 'SM4'].includes(sse)) problems.push(`OSS_SSE must be AES256, KMS or SM4 (got "${sse}")`);
    const endpoint = url('OSS_ENDPOINT');
    const secure = bool('OSS_SECURE', true);
    if (!secure && (endpoint === undefined || !/^http:\/\//i.test(endpoint) || !isLoopbackUrl(endpoint))) {
      problems.push('OSS_SECURE=false is only accepted with a loopback http OSS_ENDPOINT (a local test server such as http://127.0.0.1:PORT); facial data never travels to OSS in clear');
    }
    if (secure && endpoint !== undefined && /^http:\/\//i.test(endpoint)) {
      problems.push('OSS_ENDPOINT must be https (plain http is only accepted for a loopback test endpoint with OSS_SECURE=false)');
    }
    oss = {
      region: read('OSS_REGION') as string,
      bucket: read('OSS_BUCKET') as string,
      accessKeyId: read('OSS_ACCESS_KEY_ID') as string,
      accessKeySecret: read('OSS_ACCESS_KEY_SECRET') as string,
      endpoint,
      serverSideEncryption: sse,
      kmsKeyId: read('OSS_SSE_KMS_KEY_ID'),
      authorizationV4: bool('OSS_AUTH_V4', true),
      secure,
      pathStyle: bool('OSS_PATH_STYLE', false),
    };
  }

  const processing = {
    aiProcessorUrl: url('AI_PROCESSOR_URL'),
    aiProcessorToken: read('AI_PROCESSOR_TOKEN'),
    aiProcessorTimeoutMs: duration('AI_PROCESSOR_TIMEOUT', 'PT30S', { minMs: 1000, maxMs: 600_000 }),
    concurrency: int('JOB_CONCURRENCY', 2, 1, 64),
    leaseMs: duration('JOB_LEASE', 'PT5M', { minMs: 5_000, maxMs: 3_600_000 }),
    maxAttempts: int('JOB_MAX_ATTEMPTS', 3, 1, 10),
  };

  const retention = {
    originalMaxMs: duration('RETENTION_ORIGINAL_MAX', 'PT24H', { minMs: 1000, maxMs: POLICY_LIMITS.originalMaxMs, policy: 'originals deleted within 24 h of processing: PT24H' }),
    oplogMaxMs: duration('RETENTION_OPLOG_MAX', 'P7D', { minMs: 1000, maxMs: POLICY_LIMITS.oplogMaxMs, policy: 'operation logs deleted after 7 days: P7D' }),
    tempFileMaxMs: duration('RETENTION_TEMP_MAX', 'PT1M', { minMs: 0, maxMs: POLICY_LIMITS.tempFileMaxMs, policy: 'temporary files cleared immediately: at most PT5M as a backstop' }),
    sweepIntervalMs: duration('RETENTION_SWEEP_INTERVAL', 'PT30S', { minMs: 100, maxMs: 3_600_000 }),
    orphanGraceMs: duration('RETENTION_ORPHAN_GRACE', 'PT10M', { minMs: 1000, maxMs: 86_400_000 }),
  };

  const rights = {
    holidaysFile: read('HOLIDAYS_FILE') ? resolve(read('HOLIDAYS_FILE') as string) : undefined,
    sweepIntervalMs: duration('RIGHTS_SWEEP_INTERVAL', 'PT1M', { minMs: 100, maxMs: 86_400_000 }),
  };

  // Exact origins only (scheme://host[:port]): no wildcard, no path; none configured = CORS closed.
  const corsOrigins = (read('CORS_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin)) {
      problems.push(`CORS_ORIGINS entries must be exact origins such as https://app.example.com (no wildcard, path or trailing slash); got "${origin}"`);
    }
  }
  const http = {
    requestTimeoutMs: duration('REQUEST_TIMEOUT', 'PT30S', { minMs: 1000, maxMs: 600_000 }),
    corsOrigins,
    subjectRateLimitPerMinute: int('RATE_LIMIT_SUBJECT_PER_MINUTE', 600, 1, 10_000_000),
    authRateLimitPerMinute: int('RATE_LIMIT_AUTH_PER_MINUTE', 10, 1, 10_000_000),
    trustProxy: bool('TRUST_PROXY', false),
  };

  if (problems.length > 0) throw new ConfigError(problems);

  return new AppConfig(
    port,
    host,
    dataDir,
    readModelsFile,
    logLevel,
    instanceId,
    {
      connectionString,
      adminUrl: url('EVENTSTORE_ADMIN_URL'),
      adminUsername: read('EVENTSTORE_ADMIN_USERNAME'),
      adminPassword: read('EVENTSTORE_ADMIN_PASSWORD'),
      scavengeSchedule,
      maxInFlightAppends: int('EVENTSTORE_MAX_INFLIGHT_APPENDS', 64, 1, 4096),
    },
    masterKey,
    { secret: tokenSecret, ttlSeconds: Math.round(tokenTtlMs / 1000) },
    staffTokens,
    policyVersion,
    { maxBytes, maxPixels },
    oss,
    processing,
    retention,
    rights,
    http,
  );
}
