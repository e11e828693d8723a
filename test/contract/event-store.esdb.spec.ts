/**
 * The EventStore contract through the real `@eventstore/db-client` against the in-process gRPC
 * EventStoreDB test server (no EventStoreDB can run here).
 */
import { EventStoreDbEventStore } from '../../src/modules/event-store/eventstoredb/eventstoredb-event-store';
import { EsdbTestServer } from '../support/esdb-test-server/esdb-test-server';
import { eventStoreContract } from './event-store.contract';

eventStoreContract('EventStoreDB (real client, in-process test server)', async () => {
  let offsetMs = 0;
  const server = await EsdbTestServer.start({ now: () => new Date(Date.now() + offsetMs) });
  const store = new EventStoreDbEventStore({
    connectionString: server.connectionString,
    adminUrl: server.adminUrl,
    retry: { attempts: 4, baseDelayMs: 10 },
  });
  return {
    store,
    advanceTime: async (ms: number) => {
      offsetMs += ms;
    },
    teardown: async () => {
      await store.close();
      await server.stop();
    },
  };
});
