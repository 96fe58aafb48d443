/**
 * Calls `fn` for every item, at most `limit` calls under way at once, in the items' order. After a call fails no new
 * one starts; the calls under way are awaited (none is left floating) and the first failure is thrown.
 */
export async function eachConcurrently<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    for (let next = it.next(); !next.done && !failed; next = it.next()) {
      try {
        await fn(next.value);
      } catch (err) {
        if (!failed) failure = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.floor(limit)) }, worker));
  if (failed) throw failure;
}
