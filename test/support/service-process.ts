/**
 * Runs the built service (or a child script built from test/support) as a separate process, for
 * tests that need a real process: real clock, real schedulers, real signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

export interface ServiceProcess {
  readonly proc: ChildProcess;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code / signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful), then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Null when the build holds `compiled` newer than every source given; else why not. */
export function buildProblem(compiled: string, sources: readonly string[]): string | null {
  const target = join(ROOT, compiled);
  if (!existsSync(target)) return `${compiled} is missing: run \`npm run build\` first (npm test does)`;
  const builtAt = statSync(target).mtimeMs;
  for (const source of sources) {
    const file = join(ROOT, source);
    const out = join(ROOT, 'dist', source.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(file).mtimeMs) return `the build is older than ${source}: run \`npm run build\` first (npm test does)`;
  }
  return builtAt > 0 ? null : 'unknown build state';
}

/** Starts `node <script>` with `env` (added to a minimal environment) and waits for its listening line. */
export function startService(script: string, env: Record<string, string>, timeoutMs = 60_000): Promise<ServiceProcess> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [join(ROOT, script)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let settled = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => proc.once('exit', (code, signal) => done({ code, signal })));
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      proc.kill('SIGKILL');
      reject(new Error(`the service did not start in time; output:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (settled) return;
      const match = /(?:LISTENING |Server listening at )(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) {
        settled = true;
        clearTimeout(timer);
        resolvePromise({
          proc,
          url: match[1],
          output: () => out,
          exited,
          stop: async (graceMs = 10_000) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return exited;
            proc.kill('SIGTERM');
            const kill = setTimeout(() => proc.kill('SIGKILL'), graceMs);
            const result = await exited;
            clearTimeout(kill);
            return result;
          },
        });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    void exited.then(({ code, signal }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`the service exited (${code ?? signal}) before listening; output:\n${out}`));
    });
  });
}

/** Runs `node <script>` to its end and returns its exit code and output. */
export function runToExit(script: string, env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolvePromise) => {
    const proc = spawn(process.execPath, [join(ROOT, script)], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, output });
    });
  });
}
