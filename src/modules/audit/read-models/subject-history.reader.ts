import { Inject, Injectable } from '@nestjs/common';
import type { Statement } from 'better-sqlite3';
import { ReadModels } from '../../../projections/read-models';
import { DecryptionFailedError } from '../../crypto/crypto.errors';
import { isEncryptedField } from '../../crypto/field-cipher';
import { SubjectCipher } from '../../crypto/subject-cipher';
import type { JsonObject, Position } from '../../event-store/event-store.port';
import { AppLogger } from '../../logging/logger';
import { formatPosition } from '../audit-events/audit-position';

/** What a personal field reads as when its ciphertext does not verify (tampered or moved). */
export const UNREADABLE = '[unreadable]';

/** One action on the subject's data, as the history views show it. */
export interface HistoryEntry {
  readonly at: string;
  readonly type: string;
  readonly resource: string;
  readonly purpose?: string;
  readonly actor: string;
  readonly detail: JsonObject;
}

export interface AccessEntry {
  readonly at: string;
  readonly actor: string;
  readonly resource: string;
  readonly purpose: string;
}

export interface AuditAccessEntry extends AccessEntry {
  readonly position: string;
  readonly subjectId: string;
  readonly type: string;
}

export interface AccessSearch {
  readonly subjectId?: string;
  readonly actor?: string;
  /** ISO times, inclusive from, exclusive to. */
  readonly from?: string;
  readonly to?: string;
  readonly after?: Position;
  readonly limit: number;
}

type HistoryRow = [at: string, type: string, resource: string, purpose: string | null, actor: string, detail: string, eventId: string | null];
type AccessRow = [commit: bigint, prepare: bigint, subjectId: string, at: string, actor: string, resource: string, purpose: string, type: string];

/**
 * Reads the history and access-log projections. Personal fields of the history are decrypted with
 * the subject's key (the event id as associated data) at read time; once the key is destroyed they
 * read "[shredded]", while the record of what was done stays.
 */
@Injectable()
export class SubjectHistoryReader {
  private statements: { history: Statement; access: Statement; subjectKnown: Statement } | null = null;

  constructor(
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(SubjectCipher) private readonly cipher: SubjectCipher,
    @Inject(AppLogger) private readonly logger: AppLogger,
  ) {}

  /** Every action on the subject's data, oldest first. Never another subject's. */
  async history(subjectId: string): Promise<HistoryEntry[]> {
    const rows = this.prepared().history.all({ subjectId }) as HistoryRow[];
    const out: HistoryEntry[] = [];
    for (const [at, type, resource, purpose, actor, detailText, eventId] of rows) {
      let detail = JSON.parse(detailText) as JsonObject;
      // Rows with personal fields keep their event id: the associated data of the ciphertext.
      if (eventId !== null) detail = await this.decrypt(subjectId, eventId, detail);
      out.push(purpose === null ? { at, type, resource, actor, detail } : { at, type, resource, purpose, actor, detail });
    }
    return out;
  }

  /** Every read of the subject's facial content (and of their data by auditors), oldest first. */
  accessLog(subjectId: string): AccessEntry[] {
    const rows = this.prepared().access.all(subjectId) as AccessRow[];
    return rows.map(([, , , at, actor, resource, purpose]) => ({ at, actor, resource, purpose }));
  }

  /** Accesses across subjects for auditors, in log order, filtered, paged by position. */
  searchAccesses(search: AccessSearch): { accesses: AuditAccessEntry[]; nextPosition: string | null } {
    const where: string[] = [];
    const params: (string | bigint | number)[] = [];
    if (search.subjectId !== undefined) {
      where.push('subject_id = ?');
      params.push(search.subjectId);
    }
    if (search.actor !== undefined) {
      where.push('actor = ?');
      params.push(search.actor);
    }
    if (search.from !== undefined) {
      where.push('at >= ?');
      params.push(search.from);
    }
    if (search.to !== undefined) {
      where.push('at < ?');
      params.push(search.to);
    }
    if (search.after !== undefined) {
      where.push('(commit_position, prepare_position) > (?, ?)');
      params.push(search.after.commit, search.after.prepare);
    }
    const sql = `SELECT commit_position, prepare_position, subject_id, at, actor, resource, purpose, type FROM access_log
                 ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY commit_position, prepare_position LIMIT ?`;
    const rows = this.readModels.db.prepare(sql).raw(true).safeIntegers(true).all(...params, search.limit + 1) as AccessRow[];
    const more = rows.length > search.limit;
    const page = more ? rows.slice(0, search.limit) : rows;
    const accesses = page.map(([commit, prepare, subjectId, at, actor, resource, purpose, type]) => ({
      position: formatPosition({ commit, prepare }),
      at,
      subjectId,
      actor,
      resource,
      purpose,
      type,
    }));
    return { accesses, nextPosition: more ? accesses[accesses.length - 1].position : null };
  }

  /** Whether the log knows the subject (registered, or anything recorded about them). */
  subjectKnown(subjectId: string): boolean {
    return this.prepared().subjectKnown.get(subjectId, subjectId) !== undefined;
  }

  private async decrypt(subjectId: string, eventId: string, detail: JsonObject): Promise<JsonObject> {
    try {
      return await this.cipher.decryptFields(subjectId, eventId, detail);
    } catch (error) {
      if (!(error instanceof DecryptionFailedError)) throw error;
      // Tampered or moved ciphertext: say so, never guess. (No personal data in the log line.)
      this.logger.get().warn({ eventId }, 'a personal field of a history entry does not decrypt');
      const out: JsonObject = {};
      for (const [key, value] of Object.entries(detail)) out[key] = isEncryptedField(value) ? UNREADABLE : value;
      return out;
    }
  }

  private prepared(): { history: Statement; access: Statement; subjectKnown: Statement } {
    if (this.statements === null) {
      const db = this.readModels.db;
      this.statements = {
        history: db
          .prepare(
            // The subject's rows, by walking their chain back from the latest (see the projection).
            `WITH RECURSIVE chain(seq) AS (
               SELECT last_seq FROM history_subjects WHERE subject_id = @subjectId
               UNION ALL
               SELECT h.prev_seq FROM history h JOIN chain c ON h.seq = c.seq WHERE h.prev_seq IS NOT NULL
             )
             SELECT at, type, resource, purpose, actor, detail, event_id FROM history
             WHERE seq IN (SELECT seq FROM chain) AND subject_id = @subjectId
             ORDER BY seq`,
          )
          .raw(true),
        access: db
          .prepare(
            `SELECT commit_position, prepare_position, subject_id, at, actor, resource, purpose, type FROM access_log
             WHERE subject_id = ? ORDER BY commit_position, prepare_position`,
          )
          .raw(true),
        subjectKnown: db
          .prepare('SELECT 1 FROM subjects WHERE subject_id = ? UNION ALL SELECT 1 FROM history_subjects WHERE subject_id = ? LIMIT 1')
          .raw(true),
      };
    }
    return this.statements;
  }
}

