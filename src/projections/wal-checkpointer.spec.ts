import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WalCheckpointer } from './wal-checkpointer';

describe('WalCheckpointer', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('copies the WAL into the database from its own thread while the writer never checkpoints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-wal-checkpointer-'));
    dirs.push(dir);
    const file = join(dir, 'readmodels.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO rows (body) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 2_000; i++) insert.run('x'.repeat(1_000));
    })();
    const before = statSync(file).size;
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(1_000_000);

    const checkpointer = new WalCheckpointer(file, { intervalMs: 10 });
    checkpointer.start();
    expect(checkpointer.running).toBe(true);
    const deadline = Date.now() + 10_000;
    while (statSync(file).size <= before + 1_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // The rows are in the database file itself now.
    expect(statSync(file).size).toBeGreaterThan(before + 1_000_000);

    // Once copied, the next write starts the WAL from its beginning: it stays about the size it
    // has (without restarts, the 8 MB written below would all be appended to it).
    const walAfterCheckpoint = statSync(`${file}-wal`).size;
    for (let round = 0; round < 80; round++) {
      db.transaction(() => {
        for (let i = 0; i < 100; i++) insert.run('y'.repeat(1_000));
      })();
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(statSync(`${file}-wal`).size).toBeLessThan(walAfterCheckpoint + 2_000_000);
    expect((db.prepare('SELECT COUNT(*) AS n FROM rows').get() as { n: number }).n).toBe(10_000);

    await checkpointer.close();
    expect(checkpointer.running).toBe(false);
    db.close();
  });

  it('closes cleanly when never started, and twice', async () => {
    const checkpointer = new WalCheckpointer(join(tmpdir(), 'never-opened.db'));
    await checkpointer.close();
    await checkpointer.close();
    expect(checkpointer.running).toBe(false);
  });
});
