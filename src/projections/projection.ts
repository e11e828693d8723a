import type { Database } from 'better-sqlite3';
import type { StoredEvent } from '../modules/event-store/event-store.port';

/**
 * A read model: plain data + a synchronous handler over its own SQLite tables. Projections are
 * deterministic functions of the log (no clock, no I/O besides their tables), so any of them can
 * be dropped and rebuilt from position zero, and a verification replay must give identical rows.
 * Personal fields are stored as they are in the log (encrypted); readers decrypt them.
 */
export interface Projection {
  readonly name: string;
  /** Bump when the tables or the handler change: the runner then rebuilds this projection. */
  readonly version: number;
  /** Event types handled; others never reach `apply`. */
  readonly eventTypes: readonly string[];
  /** Tables owned, with the columns that order their rows for a comparison. */
  readonly tables: readonly { readonly name: string; readonly orderBy: string }[];
  /** Creates the tables and the indexes `apply` needs (idempotent). */
  setup(db: Database): void;
  /**
   * Indexes only readers use (`apply` never needs them): `CREATE INDEX IF NOT EXISTS` statements,
   * run after `setup` (createQueryIndexes). An initial build creates them once its tables are full:
   * one sort of the finished table instead of a b-tree grown in random order row by row.
   */
  readonly queryIndexes?: readonly string[];
  /**
   * CPU microseconds an initial build spends applying one event this projection handles (default 1),
   * reading the event aside: planLanes balances the lanes of a build by it. Measured on the bench's
   * 1,000,000-event log on the 2-core reference VM, by timing every call of this projection's
   * `apply` in a build of its lane: the total over the events it handled.
   */
  readonly buildCost?: number;
  /**
   * Applies one event inside the runner's transaction. Must not throw for well-formed events of
   * its types; unknown shapes are ignored.
   *
   * `memo` (given by the ProjectionApplier; absent when a test calls `apply` alone) is this
   * projection's scratch state for the open transaction: empty at its start, dropped at its end.
   * A projection may keep there what it wrote, so that the next events of the same transaction
   * need not read it back, and write the last state once in `flush`.
   */
  apply(db: Database, event: StoredEvent, memo?: Map<string, unknown>): void;
  /** Writes what `apply` kept in `memo`: called by the applier before every commit, inside the transaction. */
  flush?(db: Database, memo: Map<string, unknown>): void;
}

/** Prepared statements per database, created on first use (projections run on several databases: live and scratch). */
export function statements<T extends Record<string, string>>(sql: T): (db: Database) => { [K in keyof T]: import('better-sqlite3').Statement } {
  const cache = new WeakMap<Database, { [K in keyof T]: import('better-sqlite3').Statement }>();
  return (db) => {
    let prepared = cache.get(db);
    if (!prepared) {
      prepared = {} as { [K in keyof T]: import('better-sqlite3').Statement };
      for (const key of Object.keys(sql) as (keyof T)[]) prepared[key] = db.prepare(sql[key]);
      cache.set(db, prepared);
    }
    return prepared;
  };
}

/** A multi-row VALUES list: `rows` copies of `tuple` (e.g. `(?, ?, ?)`). */
export function valuesList(tuple: string, rows: number): string {
  return Array.from({ length: rows }, () => tuple).join(', ');
}

/**
 * Writes rows kept flat in `values` (`columns` values per row, in order): `perStatement` rows at a
 * time through `many` (a statement of `perStatement` tuples), the rest one by one through `one`.
 * Empties `values`. A multi-row insert costs about half as much per row as one insert per row.
 *
 * The values are passed as arguments, not as one array: better-sqlite3 (12, on Node 20) reads an
 * array parameter element by element through V8's generic property lookup, and the arguments
 * directly. For the history's rows (12 columns, 40 rows a statement) that is 15% less time per
 * insert: 1.10–1.16 s against 1.33–1.36 s for 776,000 rows.
 */
export function insertFlatRows(
  values: unknown[],
  columns: number,
  perStatement: number,
  many: import('better-sqlite3').Statement,
  one: import('better-sqlite3').Statement,
): void {
  const batch = perStatement * columns;
  let at = 0;
  for (; at + batch <= values.length; at += batch) many.run(...values.slice(at, at + batch));
  for (; at < values.length; at += columns) one.run(...values.slice(at, at + columns));
  values.length = 0;
}

/** Rows appended to one table through the applier's memo (AppendedRows). */
export interface AppendedRows {
  /** Keeps one row's values (in `columns` order) in the memo, written when a statement's worth is kept; without a memo, writes it at once. */
  add(db: Database, memo: Map<string, unknown> | undefined, ...values: unknown[]): void;
  /** The rows kept in the memo and not written yet, flat. */
  pending(memo: Map<string, unknown>): readonly unknown[];
  /** Writes the rows kept in the memo (Projection.flush, or before a statement that must see them). */
  write(db: Database, memo: Map<string, unknown>): void;
}

/**
 * Rows appended to `table` through the applier's memo, under `key`, `perStatement` rows to a
 * multi-row INSERT (about half the cost of one insert per row). `row` is one row's VALUES tuple
 * (`add` takes one value per `?`), `tail` what follows the VALUES list (an ON CONFLICT clause).
 */
export function appendedRows(options: {
  readonly key: string;
  readonly table: string;
  readonly columns: readonly string[];
  readonly row: string;
  readonly tail?: string;
  readonly perStatement?: number;
}): AppendedRows {
  const perStatement = options.perStatement ?? 40;
  const perRow = options.row.split('?').length - 1;
  const insert = `INSERT INTO ${options.table} (${options.columns.join(', ')}) VALUES`;
  const tail = options.tail ?? '';
  const sql = statements({
    one: `${insert} ${options.row} ${tail}`,
    many: `${insert} ${valuesList(options.row, perStatement)} ${tail}`,
  });
  const flush = (db: Database, rows: unknown[]) => {
    const q = sql(db);
    insertFlatRows(rows, perRow, perStatement, q.many, q.one);
  };
  return {
    add(db, memo, ...values) {
      if (memo === undefined) return flush(db, values);
      let rows = memo.get(options.key) as unknown[] | undefined;
      if (rows === undefined) {
        rows = [];
        memo.set(options.key, rows);
      }
      rows.push(...values);
      if (rows.length >= perStatement * perRow) flush(db, rows);
    },
    pending(memo) {
      return (memo.get(options.key) as unknown[] | undefined) ?? [];
    },
    write(db, memo) {
      const rows = memo.get(options.key) as unknown[] | undefined;
      if (rows !== undefined) flush(db, rows);
    },
  };
}

/**
 * Creates the projection's query indexes (idempotent). A new index on a full table is one sort of
 * the table: on a connection keeping temporary storage in memory (a live read-model connection),
 * it is made with temporary files, so that the sort does not take as much memory as the table
 * (outside a transaction only: SQLite may refuse to change the setting inside one, and a
 * transaction creating indexes is the one that creates their empty tables, or a build's own
 * connection).
 */
export function createQueryIndexes(db: Database, projection: Projection): void {
  const statements = projection.queryIndexes ?? [];
  if (statements.length === 0) return;
  const inMemory = !db.inTransaction && !db.memory && Number(db.pragma('temp_store', { simple: true })) === 2;
  if (inMemory) db.pragma('temp_store = FILE');
  try {
    for (const sql of statements) db.exec(sql);
  } finally {
    if (inMemory) db.pragma('temp_store = MEMORY');
  }
}

export function dropTables(db: Database, projection: Projection): void {
  for (const table of projection.tables) db.exec(`DROP TABLE IF EXISTS ${table.name}`);
}

/** The ISO time an event happened (metadata.occurredAt, else the store's time). */
export function occurredAt(event: StoredEvent): string {
  const at = event.metadata.occurredAt;
  return typeof at === 'string' ? at : event.created.toISOString();
}

export function actorOf(event: StoredEvent): string {
  const actor = event.metadata.actor;
  return typeof actor === 'string' ? actor : 'unknown';
}

export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Personal fields are stored as the log has them (an encrypted `{ $pii }` object): keep as JSON text. */
export function jsonText(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
