import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueryIndexes, type Projection } from './projection';
import { openReadModelDatabase } from './read-model-database';

const TEMP_STORE_MEMORY = 2;

const notes: Projection = {
  name: 'notes',
  version: 1,
  eventTypes: [],
  tables: [{ name: 'notes', orderBy: 'id' }],
  queryIndexes: ['CREATE INDEX IF NOT EXISTS notes_by_subject ON notes (subject_id)'],
  setup: (db) => db.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, subject_id TEXT NOT NULL)'),
  apply: () => undefined,
};

describe('read-model connection', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-read-model-db-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps temporary storage (statement journals) in memory, WAL, 16 KiB pages', () => {
    const db = openReadModelDatabase(join(dir, 'readmodels.db'));
    try {
      expect(db.pragma('temp_store', { simple: true })).toBe(TEMP_STORE_MEMORY);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('page_size', { simple: true })).toBe(16_384);
    } finally {
      db.close();
    }
  });

  it('creates a query index over a full table with temporary files, then keeps temporary storage in memory again', () => {
    const db = openReadModelDatabase(join(dir, 'readmodels.db'));
    try {
      notes.setup(db);
      const insert = db.prepare('INSERT INTO notes (subject_id) VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 5_000; i++) insert.run(`subject-${i % 97}`);
      })();
      // The order of what reaches the connection: the setting, the sort, the setting back.
      const calls: string[] = [];
      const pragma = db.pragma.bind(db);
      const exec = db.exec.bind(db);
      db.pragma = ((source: string, options?: { simple?: boolean }) => {
        if (source.startsWith('temp_store =')) calls.push(source);
        return pragma(source, options);
      }) as typeof db.pragma;
      db.exec = ((source: string) => {
        calls.push(source.startsWith('CREATE INDEX') ? 'CREATE INDEX' : source);
        return exec(source);
      }) as typeof db.exec;
      createQueryIndexes(db, notes);
      expect(calls).toEqual(['temp_store = FILE', 'CREATE INDEX', 'temp_store = MEMORY']);
      expect(pragma('temp_store', { simple: true })).toBe(TEMP_STORE_MEMORY);
      expect(db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM notes WHERE subject_id = ?`).all('subject-3')).toEqual([
        expect.objectContaining({ detail: expect.stringContaining('USING') }),
      ]);
    } finally {
      db.close();
    }
  });
});
