/**
 * Child scripts run from the build (dist/): `npm test` builds first; a test run on its own
 * (npx vitest run …) rebuilds when the compiled child is missing or older than the sources it uses.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const SOURCES = ['src/projections', 'src/events', 'src/modules/event-store', 'src/modules/audit', 'src/cli', 'test/support'];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (name.endsWith('.ts') && !name.endsWith('.spec.ts')) newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

/** The absolute path of `dist/<relative>.js`, built if missing or stale. */
export function compiledChild(relative: string): string {
  const target = join(ROOT, 'dist', `${relative}.js`);
  const sources = Math.max(...SOURCES.map((dir) => newestMtime(join(ROOT, dir))));
  if (!existsSync(target) || statSync(target).mtimeMs < sources) {
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
    } catch {
      // Type errors elsewhere in the tree do not stop tsc from emitting; the check below decides.
    }
    if (!existsSync(target) || statSync(target).mtimeMs < sources) throw new Error(`could not build ${target}`);
  }
  return target;
}

export const PROJECT_ROOT = ROOT;
