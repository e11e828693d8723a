import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadMasterKey, MASTER_KEY_FILE, masterKeyId } from './master-key';

describe('loadMasterKey', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'master-key-'));
  });

  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('from MASTER_KEY', () => {
    it('decodes base64 of 32 bytes, writes no file and does not warn', () => {
      const raw = randomBytes(32);
      const warn = vi.fn();
      const loaded = loadMasterKey({ masterKey: raw.toString('base64'), dataDir, warn });
      expect(loaded.key.equals(raw)).toBe(true);
      expect(loaded.source).toBe('env');
      expect(loaded.keyId).toMatch(/^[0-9a-f]{16}$/);
      expect(loaded.keyId).toBe(masterKeyId(raw));
      expect(warn).not.toHaveBeenCalled();
      expect(fs.existsSync(path.join(dataDir, MASTER_KEY_FILE))).toBe(false);
    });

    it('tolerates surrounding whitespace (a trailing newline from a secret file)', () => {
      const raw = randomBytes(32);
      const loaded = loadMasterKey({ masterKey: `  ${raw.toString('base64')}\n`, dataDir, warn: vi.fn() });
      expect(loaded.key.equals(raw)).toBe(true);
    });

    it.each([
      ['', /MASTER_KEY is empty/],
      ['   ', /MASTER_KEY is empty/],
      ['not base64 at all!', /MASTER_KEY is not valid base64/],
      ['c2VjcmV0*c2VjcmV0', /MASTER_KEY is not valid base64/],
      [randomBytes(16).toString('base64'), /MASTER_KEY must decode to exactly 32 bytes, got 16/],
      [randomBytes(31).toString('base64'), /MASTER_KEY must decode to exactly 32 bytes, got 31/],
      [randomBytes(33).toString('base64'), /MASTER_KEY must decode to exactly 32 bytes, got 33/],
      [randomBytes(64).toString('hex'), /MASTER_KEY must decode to exactly 32 bytes, got 96/],
    ])('rejects %j with a message naming MASTER_KEY', (value, message) => {
      expect(() => loadMasterKey({ masterKey: value, dataDir, warn: vi.fn() })).toThrow(message);
    });

    it('never puts the value into the error message', () => {
      const value = randomBytes(20).toString('base64');
      try {
        loadMasterKey({ masterKey: value, dataDir, warn: vi.fn() });
        expect.unreachable();
      } catch (error) {
        expect((error as Error).message).not.toContain(value);
      }
    });
  });

  describe('from DATA_DIR/master.key', () => {
    it('generates the key once, mode 0600, warns once, and reads it back on later starts', () => {
      const nested = path.join(dataDir, 'not', 'yet', 'there');
      const warn = vi.fn();
      const first = loadMasterKey({ dataDir: nested, warn });
      expect(first.source).toBe('generated');
      expect(first.key.length).toBe(32);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/generated/);
      expect(warn.mock.calls[0][0]).toMatch(/production must set MASTER_KEY/);
      expect(warn.mock.calls[0][0]).not.toContain(first.key.toString('base64'));

      const file = path.join(nested, MASTER_KEY_FILE);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64').equals(first.key)).toBe(true);
      expect(fs.readdirSync(nested)).toEqual([MASTER_KEY_FILE]); // no temporary file left behind

      const again = loadMasterKey({ dataDir: nested, warn });
      expect(again.source).toBe('file');
      expect(again.key.equals(first.key)).toBe(true);
      expect(again.keyId).toBe(first.keyId);
      expect(warn).toHaveBeenCalledTimes(1);
    });

    it('prefers MASTER_KEY over an existing key file', () => {
      const generated = loadMasterKey({ dataDir, warn: vi.fn() });
      const raw = randomBytes(32);
      const loaded = loadMasterKey({ masterKey: raw.toString('base64'), dataDir, warn: vi.fn() });
      expect(loaded.key.equals(raw)).toBe(true);
      expect(loaded.keyId).not.toBe(generated.keyId);
    });

    it('refuses a corrupt key file, naming the file', () => {
      fs.writeFileSync(path.join(dataDir, MASTER_KEY_FILE), 'c2hvcnQ=\n', { mode: 0o600 });
      expect(() => loadMasterKey({ dataDir, warn: vi.fn() })).toThrow(/master key file .*master\.key must decode to exactly 32 bytes/);
      fs.writeFileSync(path.join(dataDir, MASTER_KEY_FILE), '');
      expect(() => loadMasterKey({ dataDir, warn: vi.fn() })).toThrow(/master\.key is empty/);
    });

    it('gives the same key to processes starting together, generated exactly once', async () => {
      const module = path.join(__dirname, 'master-key.ts');
      const results = await raceInWorkers<{ key: string; warnings: number }>(
        6,
        `const { loadMasterKey } = load(args.module);
         let warnings = 0;
         const loaded = loadMasterKey({ dataDir: args.dataDir, warn: () => { warnings += 1; } });
         return { key: loaded.key.toString('base64'), warnings };`,
        { module, dataDir },
      );
      const fileKey = fs.readFileSync(path.join(dataDir, MASTER_KEY_FILE), 'utf8').trim();
      expect(results.map((result) => result.key)).toEqual(Array(6).fill(fileKey));
      expect(results.reduce((sum, result) => sum + result.warnings, 0)).toBe(1);
      expect(fs.readdirSync(dataDir)).toEqual([MASTER_KEY_FILE]);
    });
  });
});

/** Runs `body` (plain JS, `load(tsPath)` requires a TypeScript module) in `count` worker threads released together. */
async function raceInWorkers<T>(count: number, body: string, args: unknown): Promise<T[]> {
  const harness = `
    const { workerData, parentPort } = require('node:worker_threads');
    const fs = require('node:fs');
    const swc = require(workerData.swcPath);
    require.extensions['.ts'] = (module, filename) => {
      const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
        filename, jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' },
      });
      module._compile(code, filename);
    };
    const task = new Function('load', 'args', 'return (async () => {' + workerData.body + '})();');
    parentPort.postMessage({ ready: true });
    Atomics.wait(new Int32Array(workerData.gate), 0, 0);
    task((file) => require(file), workerData.args).then(
      (result) => parentPort.postMessage({ result }),
      (error) => parentPort.postMessage({ error: String((error && error.stack) || error) }),
    );`;
  const gate = new SharedArrayBuffer(4);
  const swcPath = createRequire(__filename).resolve('@swc/core');
  const workers = Array.from({ length: count }, () => new Worker(harness, { eval: true, workerData: { swcPath, gate, body, args } }));
  try {
    const ready: Promise<void>[] = [];
    const results = workers.map(
      (worker) =>
        new Promise<T>((resolve, reject) => {
          let signalReady: () => void = () => undefined;
          ready.push(new Promise<void>((r) => (signalReady = r)));
          worker.on('message', (message: { ready?: boolean; result?: T; error?: string }) => {
            if (message.ready) signalReady();
            else if (message.error !== undefined) reject(new Error(message.error));
            else resolve(message.result as T);
          });
          worker.on('error', reject);
        }),
    );
    await Promise.all(ready);
    const flag = new Int32Array(gate);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    return await Promise.all(results);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
