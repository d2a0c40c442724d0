/** A promise and the function that resolves it (Node 20 has no Promise.withResolvers). */
export function signal() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Makes `store.getSession` (the first thing every command does) observable: the returned
 * function gives a promise of the next read's answer. Races in the session manager are
 * staged by waiting for a command to have read its session, then one more macrotask.
 */
export function observeSessionReads(store: { getSession(id: string): Promise<unknown> }): () => Promise<void> {
  const read = store.getSession.bind(store);
  let next: ReturnType<typeof signal> | null = null;
  store.getSession = async (id) => {
    const session = await read(id);
    next?.resolve();
    return session;
  };
  return () => (next = signal()).promise;
}
