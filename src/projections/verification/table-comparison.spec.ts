import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareTable, type RowMismatch } from './table-comparison';

describe('compareTable', () => {
  let db: Database.Database;

  beforeEach(() => {
    db = new Database(':memory:');
    db.exec("ATTACH DATABASE ':memory:' AS scratch");
  });
  afterEach(() => db.close());

  const both = (sql: string) => {
    db.exec(sql.replaceAll('$', 'main'));
    db.exec(sql.replaceAll('$', 'scratch'));
  };
  const run = async (table: string, orderBy: string, chunkRows = 3) => {
    const found: RowMismatch[] = [];
    const result = await compareTable({ db, liveSchema: 'main', replayedSchema: 'scratch', projection: 'p', table, orderBy, report: (m) => found.push(m), chunkRows });
    return { result, found };
  };

  it('walks both sides in key-range chunks and reports changed, missing and extra rows wherever they fall', async () => {
    both('CREATE TABLE $.t (a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT, PRIMARY KEY (a, b))');
    for (let i = 0; i < 20; i++) both(`INSERT INTO $.t VALUES (${i % 7}, 'k${i}', 'v${i}')`);
    db.exec("UPDATE main.t SET v = 'changed' WHERE b = 'k9'");
    db.exec("DELETE FROM main.t WHERE b = 'k13'");
    db.exec("INSERT INTO scratch.t VALUES (99, 'late', 'only replayed')");
    db.exec("INSERT INTO main.t VALUES (-1, 'early', 'only live')");
    const { result, found } = await run('t', 'a, b');
    expect(result).toEqual({ projection: 'p', table: 't', liveRows: 20, replayedRows: 21, mismatches: 4 });
    expect(found).toEqual([
      { projection: 'p', table: 't', key: { a: -1, b: 'early' }, live: { a: -1, b: 'early', v: 'only live' }, replayed: null },
      { projection: 'p', table: 't', key: { a: 2, b: 'k9' }, live: { a: 2, b: 'k9', v: 'changed' }, replayed: { a: 2, b: 'k9', v: 'v9' } },
      { projection: 'p', table: 't', key: { a: 6, b: 'k13' }, live: null, replayed: { a: 6, b: 'k13', v: 'v13' } },
      { projection: 'p', table: 't', key: { a: 99, b: 'late' }, live: null, replayed: { a: 99, b: 'late', v: 'only replayed' } },
    ]);
  });

  it('tells integers, reals, text and NULL apart', async () => {
    both('CREATE TABLE $.t (k INTEGER PRIMARY KEY, v)');
    both('INSERT INTO $.t VALUES (1, 1), (2, NULL), (3, 1.5)');
    db.exec("UPDATE main.t SET v = '1' WHERE k = 1");
    db.exec("UPDATE main.t SET v = '' WHERE k = 2");
    const { found } = await run('t', 'k');
    expect(found.map((m) => [m.key, m.live?.v, m.replayed?.v])).toEqual([
      [{ k: 1 }, '1', 1],
      [{ k: 2 }, '', null],
    ]);
  });

  it('catches rows whose key is NULL (they fall in no key range) when the schema allows them', async () => {
    both('CREATE TABLE $.t (k TEXT PRIMARY KEY, v TEXT)');
    both("INSERT INTO $.t VALUES ('a', '1'), ('b', '2')");
    db.exec("INSERT INTO main.t VALUES (NULL, 'ghost')");
    const { result, found } = await run('t', 'k');
    expect(result.mismatches).toBe(1);
    expect(found).toEqual([{ projection: 'p', table: 't', key: null, live: { rows: 3 }, replayed: { rows: 2 } }]);
  });

  it('reports a table whose columns differ, or that one side lacks, without comparing rows', async () => {
    db.exec('CREATE TABLE main.t (k INTEGER PRIMARY KEY, v TEXT)');
    db.exec('CREATE TABLE scratch.t (k INTEGER PRIMARY KEY, v TEXT, extra TEXT)');
    const { found } = await run('t', 'k');
    expect(found).toEqual([{ projection: 'p', table: 't', key: null, live: { columns: ['k', 'v'] }, replayed: { columns: ['k', 'v', 'extra'] } }]);
    db.exec('CREATE TABLE main.u (k INTEGER PRIMARY KEY)');
    expect((await run('u', 'k')).found).toEqual([{ projection: 'p', table: 'u', key: null, live: { columns: ['k'] }, replayed: null }]);
    await expect(run('t; DROP TABLE t', 'k')).rejects.toThrow(/Invalid table name/);
  });
});
