/**
 * The embedded event store's writer thread (SqliteEventStore `writer: 'thread'`): its own
 * connection to the store's file, every write transaction on it. A commit with
 * synchronous=FULL waits for fsync; here that wait blocks only this thread, never the event loop
 * that serves requests. Messages are handled one at a time, in order.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { configureConnection } from './sqlite-schema';
import { SqliteWriter, toWriteFailure, type WriteOperation } from './sqlite-writer';

export interface WriterThreadOptions {
  readonly file: string;
  readonly synchronous: 'FULL' | 'NORMAL';
  readonly busyTimeoutMs: number;
}

export type WriterRequest =
  | { readonly id: number; readonly type: 'batch'; readonly operations: readonly WriteOperation[]; readonly now: number }
  | { readonly id: number; readonly type: 'purge-step'; readonly afterStream: string; readonly now: number }
  | { readonly id: number; readonly type: 'checkpoint'; readonly attemptBusyTimeoutMs: number }
  | { readonly id: number; readonly type: 'close' };

export type WriterReply = { readonly id: number; readonly value?: unknown; readonly failure?: { readonly message: string; readonly code?: string } };

function start(port: NonNullable<typeof parentPort>, options: WriterThreadOptions): void {
  const db = new Database(options.file);
  configureConnection(db, { synchronous: options.synchronous, busyTimeoutMs: options.busyTimeoutMs });
  const writer = new SqliteWriter(db);
  port.on('message', (request: WriterRequest) => {
    let reply: WriterReply;
    try {
      switch (request.type) {
        case 'batch':
          reply = { id: request.id, value: writer.writeBatch(request.operations, request.now) };
          break;
        case 'purge-step':
          reply = { id: request.id, value: writer.purgeStep(request.afterStream, request.now) };
          break;
        case 'checkpoint':
          reply = { id: request.id, value: writer.checkpointAttempt(request.attemptBusyTimeoutMs, options.busyTimeoutMs) };
          break;
        case 'close':
          db.close();
          port.postMessage({ id: request.id, value: true } satisfies WriterReply);
          port.close();
          return;
      }
    } catch (error) {
      reply = { id: request.id, failure: toWriteFailure(error) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ id: 0, value: 'ready' } satisfies WriterReply);
}

if (parentPort) start(parentPort, workerData as WriterThreadOptions);
