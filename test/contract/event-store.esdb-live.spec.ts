/**
 * The EventStore contract against a real EventStoreDB / KurrentDB node, through the real client.
 * Runs only when EVENTSTORE_CONNECTION_STRING is set, e.g.
 *   EVENTSTORE_CONNECTION_STRING='esdb://localhost:2113?tls=false' npx vitest run test/contract/event-store.esdb-live.spec.ts
 * Optional: EVENTSTORE_ADMIN_URL, EVENTSTORE_ADMIN_USERNAME, EVENTSTORE_ADMIN_PASSWORD (for purge).
 * Every test uses streams of its own random category, so a shared node is fine.
 */
import { describe, it } from 'vitest';
import { EventStoreDbEventStore } from '../../src/modules/event-store/eventstoredb/eventstoredb-event-store';
import { eventStoreContract } from './event-store.contract';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;

if (connectionString) {
  eventStoreContract(`EventStoreDB live node (${connectionString.replace(/\/\/[^@/]*@/, '//***@')})`, async () => {
    const store = new EventStoreDbEventStore({
      connectionString,
      adminUrl: process.env.EVENTSTORE_ADMIN_URL || undefined,
      adminUsername: process.env.EVENTSTORE_ADMIN_USERNAME || undefined,
      adminPassword: process.env.EVENTSTORE_ADMIN_PASSWORD || undefined,
    });
    return {
      store,
      // A real node has a real clock: maxAge tests wait for real.
      advanceTime: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
      teardown: () => store.close(),
    };
  });
} else {
  const reason = 'EVENTSTORE_CONNECTION_STRING is not set (e.g. esdb://localhost:2113?tls=false); no EventStoreDB node to test against';
  console.warn(`[event-store.esdb-live] skipped: ${reason}`);
  describe.skip(`EventStore contract: EventStoreDB live node — skipped: ${reason}`, () => {
    it('runs the EventStore contract against a real node', () => undefined);
  });
}
