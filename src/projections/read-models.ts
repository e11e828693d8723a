import type { Database } from 'better-sqlite3';

/** Injectable handle on this instance's read-model database. */
export class ReadModels {
  constructor(readonly db: Database) {}
}
