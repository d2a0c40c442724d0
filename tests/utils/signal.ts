/** A promise and the function that resolves it (Node 20 has no Promise.withResolvers). */
export function signal() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
