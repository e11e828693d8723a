/**
 * A read left early must release the client's gRPC stream (found by the fault-injection suite:
 * after an outage under load, shutdown hung forever in `client.dispose()`).
 *
 * The client pipes the gRPC call into a ReadStream. Destroying that ReadStream (what `for await`
 * does when the loop is left) unpipes and pauses the gRPC stream; if the call's end arrives only
 * then, it is never read, the stream never finishes, and the client keeps waiting for it. Here the
 * real ReadStream of `@eventstore/db-client` runs over a stand-in gRPC stream, so that the order of
 * "consumer leaves" and "call completes" is fixed rather than left to timing.
 */
import { Readable } from 'node:stream';
import { ReadStream } from '@eventstore/db-client/dist/streams/utils/ReadStream';
import { describe, expect, it } from 'vitest';
import { EventStoreDbEventStore } from './eventstoredb-event-store';

/** Like grpc-js's ClientReadableStreamImpl: messages pushed as they arrive, `cancel()` a no-op once the call completed. */
class StandInCall extends Readable {
  cancels = 0;
  constructor() {
    super({ objectMode: true });
  }
  override _read(): void {}
  cancel(): void {
    this.cancels++;
  }
}

function message(stream: string, revision: number) {
  const resolved = {
    event: {
      streamId: stream,
      id: `00000000-0000-4000-8000-${String(revision).padStart(12, '0')}`,
      revision: BigInt(revision),
      type: 'Thing',
      data: { n: revision },
      metadata: {},
      isJson: true,
      created: new Date(0),
      position: { commit: BigInt(revision + 1), prepare: BigInt(revision + 1) },
    },
  };
  return { hasEvent: () => true, getEvent: () => resolved };
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

function storeOver(call: StandInCall): EventStoreDbEventStore {
  const store = new EventStoreDbEventStore({ connectionString: 'esdb://127.0.0.1:1?tls=false' });
  // A stand-in for the client's ClientReadableStream<ReadResp>: only the stream behaviour matters here.
  const grpcCall = call as unknown as ConstructorParameters<typeof ReadStream>[0] extends () => Promise<infer C> ? C : never;
  const read = () => new ReadStream(async () => grpcCall, (event: unknown) => event, {});
  // The adapter's client, reduced to the two reads (no connection is ever made).
  Object.assign(store as unknown as Record<string, unknown>, { client: { readStream: read, readAll: read } });
  return store;
}

describe('EventStoreDbEventStore: a read left early releases its gRPC stream', () => {
  it.each([
    ['readStream', (store: EventStoreDbEventStore) => store.readStream('thing-1')],
    ['readAll', (store: EventStoreDbEventStore) => store.readAll()],
  ])('%s: the consumer stops at the first event, the call completes afterwards: the gRPC stream still reaches its end', async (_name, open) => {
    const call = new StandInCall();
    const store = storeOver(call);
    call.push(message('thing-1', 0));
    const seen: bigint[] = [];
    for await (const event of open(store)) {
      seen.push(event.revision);
      break; // e.g. the key store, which stops at the stream's first SubjectKeyCreated
    }
    expect(seen).toEqual([0n]);
    call.push(message('thing-1', 1)); // still on its way when the consumer left
    call.push(null); // the call completes (status OK) after the consumer left
    await turns(10);
    expect(call.readableEnded).toBe(true); // read to its end: the client drops it from its open streams
  });

  it('a page read to its end is left as it was (nothing cancelled, nothing more read)', async () => {
    const call = new StandInCall();
    const store = storeOver(call);
    call.push(message('thing-1', 0));
    call.push(null);
    const seen: bigint[] = [];
    for await (const event of store.readStream('thing-1')) seen.push(event.revision);
    expect(seen).toEqual([0n]);
    await turns(5);
    expect(call.readableEnded).toBe(true);
    expect(call.cancels).toBe(0);
  });
});
