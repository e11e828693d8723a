import Database from 'better-sqlite3';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.port';
import { DecryptionFailedError, KeyStoreUnavailableError, SubjectKeyDestroyedError } from '../crypto.errors';
import { keyStoreContract } from '../key-store.contract';
import { masterKeyFromBytes, type MasterKey } from '../master-key';
import { KEYS_DB_FILE, SqliteKeyStore, type SqliteKeyStoreOptions } from './sqlite-key-store';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'keystore-'));
}

keyStoreContract('SqliteKeyStore', async () => {
  const dataDir = tempDir();
  return {
    open: (options) => new SqliteKeyStore({ ...options, dataDir }),
    dispose: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
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

function rawFiles(dataDir: string): Buffer {
  const parts: Buffer[] = [];
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    const file = path.join(dataDir, KEYS_DB_FILE + suffix);
    if (fs.existsSync(file)) parts.push(fs.readFileSync(file));
  }
  return Buffer.concat(parts);
}

function readWrappedKeys(dataDir: string): Map<string, Buffer> {
  const db = new Database(path.join(dataDir, KEYS_DB_FILE), { readonly: true });
  try {
    const rows = db.prepare('SELECT subject_id, wrapped_key FROM subject_keys').all() as { subject_id: string; wrapped_key: Buffer }[];
    return new Map(rows.map((row) => [row.subject_id, row.wrapped_key]));
  } finally {
    db.close();
  }
}

describe('SqliteKeyStore', () => {
  let dataDir: string;
  let master: MasterKey;
  const stores: SqliteKeyStore[] = [];
  const open = (options: Partial<SqliteKeyStoreOptions> = {}): SqliteKeyStore => {
    const store = new SqliteKeyStore({ masterKey: master, dataDir, ...options });
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    dataDir = tempDir();
    master = masterKeyFromBytes(randomBytes(32));
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens DATA_DIR/keys.db in WAL mode with synchronous=FULL and secure_delete=ON, files mode 0600', async () => {
    const store = open();
    await store.getOrCreate(randomUUID());
    expect(store.file).toBe(path.join(dataDir, 'keys.db'));
    const db = (store as any).db as Database.Database;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    for (const suffix of ['', '-wal', '-shm']) {
      expect(fs.statSync(store.file + suffix).mode & 0o777, `keys.db${suffix}`).toBe(0o600);
    }
  });

  it('stores keys only wrapped, and keeps a destroyed marker with no key material', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    const store = open({ clock });
    const subject = randomUUID();
    const key = await store.getOrCreate(subject);
    expect(rawFiles(dataDir).includes(key)).toBe(false);

    const check = new Database(store.file, { readonly: true });
    try {
      const row = check.prepare('SELECT * FROM subject_keys WHERE subject_id = ?').get(subject) as Record<string, unknown>;
      expect(row).toMatchObject({ subject_id: subject, master_key_id: master.keyId, algorithm: 'AES-256-GCM', created_at: '2026-03-01T10:00:00.000Z' });
      expect((row.wrapped_key as Buffer).length).toBe(1 + 12 + 16 + 32);

      clock.advance(60_000);
      await store.destroy(subject);
      expect(check.prepare('SELECT * FROM subject_keys WHERE subject_id = ?').get(subject)).toBeUndefined();
      expect(check.prepare('SELECT * FROM destroyed_subject_keys').all()).toEqual([
        { subject_id: subject, destroyed_at: '2026-03-01T10:01:00.000Z' },
      ]);
    } finally {
      check.close();
    }
  });

  it('leaves no copy of a destroyed wrapped key in keys.db, -wal or -shm (raw byte search)', async () => {
    const store = open();
    const other = open(); // a second instance on the same file, with its own connection
    const subjects = Array.from({ length: 300 }, () => randomUUID());
    for (const subject of subjects) await store.getOrCreate(subject);
    await other.get(subjects[0]);
    const wrapped = readWrappedKeys(dataDir);
    expect(wrapped.size).toBe(300);

    const victims = [subjects[0], subjects[7], subjects[150], subjects[298], subjects[299]];
    const survivors = subjects.filter((subject) => !victims.includes(subject));
    const before = rawFiles(dataDir);
    for (const victim of victims) expect(before.includes(wrapped.get(victim)!)).toBe(true); // the search does find them

    for (const victim of victims) await store.destroy(victim);

    const after = rawFiles(dataDir);
    for (const victim of victims) {
      const blob = wrapped.get(victim)!;
      expect(after.includes(blob), `wrapped key of ${victim}`).toBe(false);
      expect(after.includes(blob.subarray(1, 13)), `IV of ${victim}`).toBe(false);
      expect(after.includes(blob.subarray(13, 29)), `tag of ${victim}`).toBe(false);
      expect(after.includes(blob.subarray(29)), `ciphertext of ${victim}`).toBe(false);
    }
    for (const survivor of survivors) expect(after.includes(wrapped.get(survivor)!)).toBe(true);
    expect(fs.statSync(store.file + '-wal').size).toBe(0);
    for (const victim of victims) expect(await open().isDestroyed(victim)).toBe(true);
  });

  it('fails destroy while another connection pins the WAL, and a retry scrubs it', async () => {
    const store = open({ busyTimeoutMs: 20 });
    const subject = randomUUID();
    await store.getOrCreate(subject);
    const blob = readWrappedKeys(dataDir).get(subject)!;

    const reader = new Database(store.file);
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM subject_keys').get();
      await expect(store.destroy(subject)).rejects.toBeInstanceOf(KeyStoreUnavailableError);
      // The key is unusable already, on every instance.
      await expect(open().getOrCreate(subject)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
      reader.exec('COMMIT');
    } finally {
      reader.close();
    }
    await store.destroy(subject);
    expect(rawFiles(dataDir).includes(blob)).toBe(false);
    expect(fs.statSync(store.file + '-wal').size).toBe(0);
  });

  it('detects a tampered or swapped wrapped key', async () => {
    const store = open();
    const [s1, s2] = [randomUUID(), randomUUID()];
    await store.getOrCreate(s1);
    await store.getOrCreate(s2);
    const writer = new Database(store.file);
    try {
      const wrapped = readWrappedKeys(dataDir);
      const update = writer.prepare('UPDATE subject_keys SET wrapped_key = ? WHERE subject_id = ?');
      update.run(wrapped.get(s2)!, s1); // s2's key moved to s1: the AAD (subject id) no longer matches
      const tampered = Buffer.from(wrapped.get(s2)!);
      tampered[40] ^= 1;
      update.run(tampered, s2);
    } finally {
      writer.close();
    }
    const fresh = open();
    await expect(fresh.get(s1)).rejects.toBeInstanceOf(DecryptionFailedError);
    await expect(fresh.getOrCreate(s2)).rejects.toBeInstanceOf(DecryptionFailedError);
  });

  it('keeps keys across restarts', async () => {
    const subject = randomUUID();
    const first = open();
    const key = await first.getOrCreate(subject);
    await first.close();
    expect((await open().get(subject))?.equals(key)).toBe(true);
  });

  it('yields one key per subject when worker threads race on the same file', async () => {
    const subjects = Array.from({ length: 10 }, () => randomUUID());
    const body = `
      const { SqliteKeyStore } = load(args.module);
      const store = new SqliteKeyStore({
        dataDir: args.dataDir,
        masterKey: { key: Buffer.from(args.masterKey, 'base64'), keyId: args.masterKeyId },
      });
      try {
        const calls = [];
        for (let round = 0; round < 50; round += 1) {
          for (const subject of args.subjects) calls.push(store.getOrCreate(subject).then((key) => [subject, key.toString('hex')]));
        }
        const pairs = await Promise.all(calls);
        const bySubject = {};
        for (const [subject, hex] of pairs) {
          if (bySubject[subject] !== undefined && bySubject[subject] !== hex) throw new Error('two keys within one worker');
          bySubject[subject] = hex;
        }
        return bySubject;
      } finally {
        await store.close();
      }`;
    const results = await raceInWorkers<Record<string, string>>(4, body, {
      module: path.join(__dirname, 'sqlite-key-store.ts'),
      dataDir,
      masterKey: master.key.toString('base64'),
      masterKeyId: master.keyId,
      subjects,
    });
    expect(results).toHaveLength(4);
    const local = open();
    for (const subject of subjects) {
      const stored = (await local.get(subject))!.toString('hex');
      for (const result of results) expect(result[subject]).toBe(stored);
    }
    expect(readWrappedKeys(dataDir).size).toBe(10);
  });
});
