import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { CreateSessionMutation, SendMessageMutation } from '../utils/operations.js';
import { startTestServer } from '../utils/server.js';
import { signal } from '../utils/signal.js';

/**
 * A store whose lease writes answer out of order, as a pooled PostgreSQL store may: while a
 * release is held back, a claim runs at once but its answer comes only after the release's.
 */
function reorderingStore() {
  const inner = createMemoryStore();
  let holdReleases = false;
  let releasing: Promise<void> | null = null;
  let letRelease!: () => void;
  const releaseStarted = signal();
  let claimed: ReturnType<typeof signal> | null = null;

  const store: Store = Object.create(inner);
  store.releaseLease = async (sessionId, holder) => {
    if (!holdReleases) return inner.releaseLease(sessionId, holder);
    holdReleases = false; // only the next one
    releasing = new Promise<void>((resolve) => (letRelease = resolve)).then(() => inner.releaseLease(sessionId, holder));
    releaseStarted.resolve();
    await releasing;
  };
  store.claimLease = async (...args) => {
    const lease = await inner.claimLease(...args);
    claimed?.resolve();
    if (releasing) {
      // This claim ran before the release; its answer comes after the release's.
      await releasing;
      await nextMacrotask();
    }
    return lease;
  };

  return {
    store,
    inner,
    /** Holds the next release back until `release()`. */
    holdNextRelease: () => (holdReleases = true),
    releaseStarted: releaseStarted.promise,
    release: () => letRelease(),
    /** Settles when the next claim has been made (its answer may still be held back). */
    nextClaim: () => (claimed = signal()).promise,
  };
}

it('a claim made while the same instance releases the lease is not undone by the release', async () => {
  const fake = reorderingStore();
  const server = await startTestServer({ store: fake.store });
  const id = 'lease-race';
  await server.gql(CreateSessionMutation, { input: { id } });

  // A quick turn ends; the lease is released once the session is idle, and that release is held.
  fake.holdNextRelease();
  await server.gql(SendMessageMutation, { input: { sessionId: id, text: 'hello' } });
  await fake.releaseStarted;

  // A message arrives meanwhile. Its owner is known, so nothing comes before the claim, which
  // waits behind the release (lease writes of a session go one at a time): once the microtasks
  // of the call have run, the claim is queued. Then the release goes, and the claim after it.
  const { userId } = (await fake.inner.getSession(id))!;
  const claim = fake.nextClaim();
  const sending = server.app.sessions.sendMessage(userId, { sessionId: id, text: '/sleep 60000' });
  await nextMacrotask();
  fake.release();
  await claim;
  expect((await sending).queued).toBe(false);

  // The turn runs here, so the lease must be this instance's: no other may take the session.
  const lease = await fake.inner.claimLease(id, 'another-instance', 10_000, Date.now());
  expect(lease.holder).toBe(server.app.sessions.instanceId);
});
