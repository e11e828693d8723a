import type { Database, Statement } from 'better-sqlite3';
import type { JsonValue } from '../../modules/event-store/event-store.port';
import { nextTurn } from '../../common/async/next-turn';

/** A row that differs between the live read model and the replayed one (null: the row is missing on that side). */
export interface RowMismatch {
  readonly projection: string;
  readonly table: string;
  /** The row's key (the table's orderBy columns); null for a table-level difference (schema, row count). */
  readonly key: Record<string, JsonValue> | null;
  readonly live: Record<string, JsonValue> | null;
  readonly replayed: Record<string, JsonValue> | null;
}

export interface TableComparison {
  readonly projection: string;
  readonly table: string;
  readonly liveRows: number;
  readonly replayedRows: number;
  /** Keys whose rows differ (or exist on one side only), plus table-level differences. */
  readonly mismatches: number;
}

export interface CompareTableOptions {
  /** A connection where both schemas are visible. */
  readonly db: Database;
  readonly liveSchema: string;
  readonly replayedSchema: string;
  readonly projection: string;
  readonly table: string;
  /** Comma-separated key columns, the projection's `orderBy`. */
  readonly orderBy: string;
  /** Called for each mismatch found (the caller caps what it keeps). */
  readonly report: (mismatch: RowMismatch) => void;
  /** Rows per chunk; the event loop runs between chunks. */
  readonly chunkRows?: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_CHUNK_ROWS = 2_000;

type Row = unknown[];

/**
 * Compares one table row by row between two schemas of the same connection (live `main` and the
 * attached replay), in key order and in chunks of key ranges, so memory stays bounded and the
 * event loop keeps running. Chunk bounds come from whichever side reaches its N-th key first, and
 * both sides are read over exactly the same key range with SQLite's own ordering (row values).
 */
export async function compareTable(options: CompareTableOptions): Promise<TableComparison> {
  const { db, liveSchema, replayedSchema, projection, table, report } = options;
  const chunkRows = Math.max(1, options.chunkRows ?? DEFAULT_CHUNK_ROWS);
  if (!IDENTIFIER.test(table)) throw new Error(`Invalid table name ${table}`);
  const keyColumns = options.orderBy.split(',').map((c) => c.trim());
  if (keyColumns.length === 0 || keyColumns.some((c) => !IDENTIFIER.test(c))) throw new Error(`Invalid orderBy for ${table}: ${options.orderBy}`);

  const liveColumns = columnsOf(db, liveSchema, table);
  const replayedColumns = columnsOf(db, replayedSchema, table);
  let mismatches = 0;
  const tableLevel = (live: Record<string, JsonValue> | null, replayed: Record<string, JsonValue> | null) => {
    mismatches++;
    report({ projection, table, key: null, live, replayed });
  };
  if (liveColumns === null || replayedColumns === null) {
    tableLevel(liveColumns === null ? null : { columns: liveColumns }, replayedColumns === null ? null : { columns: replayedColumns });
    return { projection, table, liveRows: liveColumns ? count(db, liveSchema, table) : 0, replayedRows: replayedColumns ? count(db, replayedSchema, table) : 0, mismatches };
  }
  if (liveColumns.join(',') !== replayedColumns.join(',')) {
    tableLevel({ columns: liveColumns }, { columns: replayedColumns });
    return { projection, table, liveRows: count(db, liveSchema, table), replayedRows: count(db, replayedSchema, table), mismatches };
  }
  const missingKey = keyColumns.find((c) => !liveColumns.includes(c));
  if (missingKey) throw new Error(`orderBy column ${missingKey} is not a column of ${table}`);

  const columnList = liveColumns.map(quote).join(', ');
  const keyList = keyColumns.map(quote).join(', ');
  const keyTuple = `(${keyList})`;
  const params = `(${keyColumns.map(() => '?').join(', ')})`;
  const prepare = (sql: string, raw = true): Statement => db.prepare(sql).safeIntegers(true).raw(raw);
  const boundOf = (schema: string, after: boolean): Statement =>
    prepare(`SELECT ${keyList} FROM ${schema}.${quote(table)} ${after ? `WHERE ${keyTuple} > ${params}` : ''} ORDER BY ${keyList} LIMIT 1 OFFSET ${chunkRows - 1}`);
  const rowsOf = (schema: string, after: boolean, upTo: boolean): Statement => {
    const where = [after ? `${keyTuple} > ${params}` : '', upTo ? `${keyTuple} <= ${params}` : ''].filter(Boolean);
    return prepare(`SELECT ${columnList} FROM ${schema}.${quote(table)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${keyList}`);
  };
  const statements = {
    liveBound: [boundOf(liveSchema, false), boundOf(liveSchema, true)],
    replayedBound: [boundOf(replayedSchema, false), boundOf(replayedSchema, true)],
    liveRows: [
      [rowsOf(liveSchema, false, false), rowsOf(liveSchema, false, true)],
      [rowsOf(liveSchema, true, false), rowsOf(liveSchema, true, true)],
    ],
    replayedRows: [
      [rowsOf(replayedSchema, false, false), rowsOf(replayedSchema, false, true)],
      [rowsOf(replayedSchema, true, false), rowsOf(replayedSchema, true, true)],
    ],
    less: prepare(`SELECT ${params} < ${params}`),
  };
  const keyIndexes = keyColumns.map((c) => liveColumns.indexOf(c));

  let liveRows = 0;
  let replayedRows = 0;
  let last: Row | null = null;
  for (;;) {
    const a = last === null ? 0 : 1;
    const lastParams = last ?? [];
    const liveBound = statements.liveBound[a].get(...lastParams) as Row | undefined;
    const replayedBound = statements.replayedBound[a].get(...lastParams) as Row | undefined;
    let bound: Row | undefined;
    if (liveBound && replayedBound) {
      const isLess = (statements.less.get(...liveBound, ...replayedBound) as Row)[0];
      bound = isLess === 1n || isLess === 1 ? liveBound : replayedBound;
    } else bound = liveBound ?? replayedBound;
    const u = bound ? 1 : 0;
    const args = [...lastParams, ...(bound ?? [])];
    const live = statements.liveRows[a][u].all(...args) as Row[];
    const replayed = statements.replayedRows[a][u].all(...args) as Row[];
    liveRows += live.length;
    replayedRows += replayed.length;
    mismatches += diffChunk(live, replayed, keyIndexes, keyColumns, liveColumns, (m) => report({ projection, table, ...m }));
    if (!bound) break;
    last = bound;
    await nextTurn();
  }

  // Rows whose key is NULL never fall in a key range: unless the schema rules NULL keys out on
  // both sides, count the rows (a full scan) to catch them.
  if (keyNeverNull(db, liveSchema, table, keyColumns) && keyNeverNull(db, replayedSchema, table, keyColumns)) {
    return { projection, table, liveRows, replayedRows, mismatches };
  }
  const liveTotal = count(db, liveSchema, table);
  const replayedTotal = count(db, replayedSchema, table);
  if ((liveTotal !== liveRows || replayedTotal !== replayedRows) && liveTotal - liveRows !== replayedTotal - replayedRows) {
    tableLevel({ rows: liveTotal }, { rows: replayedTotal });
  }
  return { projection, table, liveRows: liveTotal, replayedRows: replayedTotal, mismatches };
}

/** Whether every key column is NOT NULL, or the INTEGER PRIMARY KEY (the rowid), in that schema. */
function keyNeverNull(db: Database, schema: string, table: string, keyColumns: readonly string[]): boolean {
  const info = db.prepare('SELECT name, type, "notnull" AS not_null, pk FROM pragma_table_info(?, ?)').all(table, schema) as { name: string; type: string; not_null: number; pk: number }[];
  const primaryKey = info.filter((c) => c.pk > 0);
  return keyColumns.every((name) => {
    const column = info.find((c) => c.name === name);
    if (!column) return false;
    if (column.not_null) return true;
    return primaryKey.length === 1 && column.pk === 1 && column.type.toUpperCase() === 'INTEGER';
  });
}

/** Compares the rows of one key range; returns how many keys differ. */
function diffChunk(
  live: Row[],
  replayed: Row[],
  keyIndexes: readonly number[],
  keyColumns: readonly string[],
  columns: readonly string[],
  report: (m: Omit<RowMismatch, 'projection' | 'table'>) => void,
): number {
  const groups = new Map<string, { key: Row; live: Row[]; replayed: Row[] }>();
  const add = (row: Row, side: 'live' | 'replayed') => {
    const key = keyIndexes.map((i) => row[i]);
    const id = signature(key);
    let group = groups.get(id);
    if (!group) {
      group = { key, live: [], replayed: [] };
      groups.set(id, group);
    }
    group[side].push(row);
  };
  for (const row of live) add(row, 'live');
  for (const row of replayed) add(row, 'replayed');
  let differing = 0;
  for (const group of groups.values()) {
    if (group.live.length === 1 && group.replayed.length === 1 && signature(group.live[0]) === signature(group.replayed[0])) continue;
    // Pair equal rows off, report what is left.
    const left = group.live.map(signature);
    const right = group.replayed.map(signature);
    const liveOnly: Row[] = [];
    const used = new Set<number>();
    left.forEach((sig, i) => {
      const j = right.findIndex((r, k) => !used.has(k) && r === sig);
      if (j >= 0) used.add(j);
      else liveOnly.push(group.live[i]);
    });
    const replayedOnly = group.replayed.filter((_, k) => !used.has(k));
    if (liveOnly.length === 0 && replayedOnly.length === 0) continue;
    differing++;
    const keyObject = toObject(keyColumns, group.key);
    for (let i = 0; i < Math.max(liveOnly.length, replayedOnly.length); i++) {
      report({
        key: keyObject,
        live: liveOnly[i] ? toObject(columns, liveOnly[i]) : null,
        replayed: replayedOnly[i] ? toObject(columns, replayedOnly[i]) : null,
      });
    }
  }
  return differing;
}

/** An exact, type-preserving text form of a row (integers, reals, text, blobs and NULL stay distinct). */
function signature(values: readonly unknown[]): string {
  let out = '';
  for (const v of values) {
    if (v === null || v === undefined) out += 'n\u0001';
    else if (typeof v === 'bigint') out += `i${v}\u0001`;
    else if (typeof v === 'number') out += `r${v}\u0001`;
    else if (typeof v === 'string') out += `s${v.length}:${v}\u0001`;
    else if (Buffer.isBuffer(v)) out += `b${v.toString('base64')}\u0001`;
    else out += `?${String(v)}\u0001`;
  }
  return out;
}

export function toJsonValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (Buffer.isBuffer(value)) return `base64:${value.toString('base64')}`;
  return String(value);
}

function toObject(columns: readonly string[], row: readonly unknown[]): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  columns.forEach((c, i) => {
    out[c] = toJsonValue(row[i]);
  });
  return out;
}

function columnsOf(db: Database, schema: string, table: string): string[] | null {
  const rows = db.prepare(`SELECT name FROM pragma_table_info(?, ?) ORDER BY cid`).all(table, schema) as { name: string }[];
  return rows.length === 0 ? null : rows.map((r) => r.name);
}

function count(db: Database, schema: string, table: string): number {
  return Number((db.prepare(`SELECT count(*) FROM ${schema}.${quote(table)}`).pluck().safeIntegers(true).get() as bigint) ?? 0n);
}

function quote(identifier: string): string {
  return `"${identifier}"`;
}
