/**
 * Runs the built service (dist/src/main.js) under the V8 sampling profiler, for `npm run bench:api`
 * with BENCH_CPU_PROF set: each line `profile` on standard input toggles the profiler (signals are
 * taken: Nest's shutdown hooks end the service on SIGUSR2 too); stopping writes
 * `<BENCH_CPU_PROF>/service-<n>.cpuprofile` (open it in Chrome DevTools, or summarise it with
 * `node dist/bench/cpu-profile-summary.js <file>`). The bench toggles around each measured phase,
 * so start-up and data preparation are not in the profiles.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF ?? '';
if (!dir) throw new Error('BENCH_CPU_PROF must name a folder for the profiles');
const session = new Session();
session.connect();
let profiling = false;
let count = 0;

function post(method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

async function toggle(): Promise<void> {
  if (!profiling) {
    profiling = true;
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
    return;
  }
  profiling = false;
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  const file = join(dir, `service-${++count}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  process.stdout.write(`PROFILE ${file}\n`);
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  input += chunk;
  let newline: number;
  while ((newline = input.indexOf('\n')) >= 0) {
    const line = input.slice(0, newline).trim();
    input = input.slice(newline + 1);
    if (line === 'profile') {
      toggle().catch((error: unknown) => process.stderr.write(`profiler: ${error instanceof Error ? error.message : String(error)}\n`));
    }
  }
});
// Standard input must not keep the service alive once it shuts down.
process.stdin.unref();

// eslint-disable-next-line @typescript-eslint/no-require-imports
require(join(__dirname, '..', 'src', 'main.js'));
