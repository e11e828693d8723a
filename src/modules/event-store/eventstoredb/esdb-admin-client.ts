import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * EventStoreDB's HTTP admin API, for what the gRPC client does not offer: starting a scavenge
 * (`POST /admin/scavenge`). The node answers 200 `{ scavengeId, result: 'Started' }`, 400 when a
 * scavenge is already running (its id in the body), 401 without the `$ops`/`$admins` rights.
 */

export interface AdminCredentials {
  readonly username: string;
  readonly password: string;
}

export interface ScavengeStarted {
  readonly scavengeId: string;
  /** 'Started', or 'InProgress' when the node was already scavenging (the running scavenge's id). */
  readonly result: 'Started' | 'InProgress';
}

/** An HTTP answer that is not a success; `transient` for 5xx and connection-level failures. */
export class EsdbAdminHttpError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'EsdbAdminHttpError';
  }
}

export interface ScavengeOptions {
  readonly threads?: number;
  readonly startFromChunk?: number;
  /** 0 = scavenge every chunk whatever its estimated gain (a full clean-up). */
  readonly threshold?: number;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

function post(url: URL, headers: Record<string, string>, timeoutMs: number, ca?: Buffer): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'POST', headers, timeout: timeoutMs, ...(ca && url.protocol === 'https:' ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`No answer from ${url.origin} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

function parseBody(body: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export async function startScavenge(
  adminUrl: string,
  options: ScavengeOptions & { credentials?: AdminCredentials; timeoutMs: number; ca?: Buffer },
): Promise<ScavengeStarted> {
  const url = new URL('/admin/scavenge', adminUrl);
  url.searchParams.set('threads', String(options.threads ?? 1));
  url.searchParams.set('startFromChunk', String(options.startFromChunk ?? 0));
  url.searchParams.set('threshold', String(options.threshold ?? 0));
  const headers: Record<string, string> = { accept: 'application/json', 'content-length': '0' };
  if (options.credentials) {
    const token = Buffer.from(`${options.credentials.username}:${options.credentials.password}`, 'utf8').toString('base64');
    headers.authorization = `Basic ${token}`;
  }
  let answer: HttpAnswer;
  try {
    answer = await post(url, headers, options.timeoutMs, options.ca);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new EsdbAdminHttpError(`Scavenge request to ${url.origin} failed: ${message}`, null, true);
  }
  const body = parseBody(answer.body);
  const scavengeId = typeof body.scavengeId === 'string' ? body.scavengeId : undefined;
  if (answer.status >= 200 && answer.status < 300 && scavengeId) return { scavengeId, result: 'Started' };
  if (answer.status === 400 && scavengeId) return { scavengeId, result: 'InProgress' };
  if (answer.status === 401 || answer.status === 403) {
    throw new EsdbAdminHttpError(`Scavenge refused by ${url.origin}: HTTP ${answer.status} (needs $ops or $admins credentials)`, answer.status, false);
  }
  throw new EsdbAdminHttpError(`Scavenge request to ${url.origin} answered HTTP ${answer.status}`, answer.status, answer.status >= 500);
}

/**
 * Admin base URLs from an `esdb://` connection string: one per host, `http` when `tls=false`,
 * `https` otherwise (EventStoreDB serves HTTP and gRPC on the same port).
 */
export function adminUrlsFromConnectionString(connectionString: string): string[] {
  const match = /^esdb(\+discover)?:\/\/(?:[^@/]*@)?([^/?]+)(?:\/)?(?:\?(.*))?$/i.exec(connectionString.trim());
  if (!match) throw new Error('Unrecognised EventStoreDB connection string');
  const params = new URLSearchParams(match[3] ?? '');
  const tls = (params.get('tls') ?? params.get('Tls') ?? 'true').toLowerCase() !== 'false';
  return match[2]!.split(',').map((host) => {
    const trimmed = host.trim();
    const withPort = /:\d+$/.test(trimmed) ? trimmed : `${trimmed}:2113`;
    return `${tls ? 'https' : 'http'}://${withPort}`;
  });
}

/** `user:password@` of an `esdb://` connection string, if any. */
export function credentialsFromConnectionString(connectionString: string): AdminCredentials | undefined {
  const match = /^esdb(?:\+discover)?:\/\/([^@/]*)@/i.exec(connectionString.trim());
  if (!match) return undefined;
  const [user, ...rest] = match[1]!.split(':');
  if (!user) return undefined;
  return { username: decodeURIComponent(user), password: decodeURIComponent(rest.join(':')) };
}
