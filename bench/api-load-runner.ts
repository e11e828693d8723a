/**
 * The load generator of the API benchmark, run as its own process (so it does not share an event
 * loop with the server it measures): `node dist/bench/api-load-runner.js <config.json>`.
 *
 * Runs autocannon (programmatic API) against one route: a warm-up, then the measured run, both
 * at the same number of connections, HTTP/1.1 keep-alive, no pipelining. Requests cycle over the
 * configured targets (path + bearer token), so consecutive requests hit different subjects and
 * resources. Every request carries its own `X-Request-Id` (`<runId>-m-<n>`): the service uses it
 * as the correlation id of the events the request appends and echoes it back, so the bench can
 * check afterwards that each 2xx answer left exactly its event in the log. The ids of the answered
 * requests are written to the result file with autocannon's figures. Response bodies are counted,
 * not kept (see below).
 */
import autocannon from 'autocannon';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * autocannon appends every response body to a string (`body += chunk`), which for 50 KiB binary
 * answers costs the client several times the server's own CPU per request (Buffer#toString and
 * GC were 75% of the load runner's profile) and, on a 2-core machine, measures the client rather
 * than the server. The benchmark never reads bodies (it verifies through the event log), so the
 * per-request queue keeps counting bytes but no longer accumulates the body text.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const queue = require('autocannon/lib/pipelinedRequestsQueue') as { prototype: { addBody: (data: Buffer) => void } };
queue.prototype.addBody = function addBody(): void {
  // Bodies are not needed: see above.
};

export interface LoadTarget {
  readonly path: string;
  readonly token: string;
}

export interface LoadConfig {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly targets: readonly LoadTarget[];
  /** A JSON body sent with every request (uploads). */
  readonly bodyFile?: string;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly runId: string;
  readonly outFile: string;
}

export interface LoadResult {
  /** 2xx answers per second of the measured run. */
  readonly okPerSecond: number;
  /** All answers per second (autocannon's mean of per-second samples). */
  readonly requestsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly mean: number; readonly max: number };
  readonly durationSeconds: number;
  readonly ok: number;
  readonly non2xx: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCounts: Record<string, number>;
  /** Request ids of the measured run's 2xx answers. */
  readonly okIds: readonly string[];
  /** Request ids of the measured run's other answers. */
  readonly otherIds: readonly string[];
  /** Requests of the measured run that were written to a socket. */
  readonly sent: number;
}

function header(headers: Record<string, unknown>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return typeof value === 'string' ? value : Array.isArray(value) ? String(value[0]) : undefined;
  }
  return undefined;
}

interface Tally {
  sent: number;
  readonly okIds: string[];
  readonly otherIds: string[];
  readonly statusCounts: Record<string, number>;
}

function run(config: LoadConfig, body: Buffer | undefined, prefix: string, seconds: number, tally: Tally): Promise<autocannon.Result> {
  const targets = config.targets;
  let counter = 0;
  const request: autocannon.Request = {
    method: config.method,
    setupRequest: (req) => {
      const n = counter++;
      const target = targets[n % targets.length];
      tally.sent++;
      const headers: Record<string, string> = { authorization: `Bearer ${target.token}`, 'x-request-id': `${prefix}${n}` };
      if (body) headers['content-type'] = 'application/json';
      return { ...req, method: config.method, path: target.path, headers, ...(body ? { body } : {}) };
    },
    onResponse: (status, _body, _context, headers) => {
      const id = header(headers as Record<string, unknown>, 'x-request-id');
      tally.statusCounts[status] = (tally.statusCounts[status] ?? 0) + 1;
      if (id === undefined) return;
      if (status >= 200 && status < 300) tally.okIds.push(id);
      else tally.otherIds.push(id);
    },
  };
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: config.url, connections: config.connections, duration: seconds, pipelining: 1, timeout: 30, requests: [request] },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    // autocannon keeps running on its own; no progress bar or table from it.
    void instance;
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as LoadConfig;
  const body = config.bodyFile ? readFileSync(config.bodyFile) : undefined;
  if (config.warmupSeconds > 0) {
    await run(config, body, `${config.runId}-w-`, config.warmupSeconds, { sent: 0, okIds: [], otherIds: [], statusCounts: {} });
  }
  const tally: Tally = { sent: 0, okIds: [], otherIds: [], statusCounts: {} };
  const result = await run(config, body, `${config.runId}-m-`, config.durationSeconds, tally);
  const durationSeconds = result.duration;
  const out: LoadResult = {
    okPerSecond: result['2xx'] / durationSeconds,
    requestsPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, mean: result.latency.average, max: result.latency.max },
    durationSeconds,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCounts: tally.statusCounts,
    okIds: tally.okIds,
    otherIds: tally.otherIds,
    sent: tally.sent,
  };
  writeFileSync(config.outFile, JSON.stringify(out));
}

main().catch((error: unknown) => {
  console.error('load runner failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
