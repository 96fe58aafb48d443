/**
 * A status write that survives other writers: the status is made from the object as read, and on a conflict (the
 * object changed since: another controller, a user, this controller's own earlier write still on its way) the object
 * is read again and the status made again from it. Controllers whose reconcile is costly to repeat (a state store
 * write re-derives a whole store) use it rather than failing the reconcile for a conflict on its last step.
 */
import { isApiError } from '../api/errors.ts';
import { jsonEqual, type StoredObject } from '../api/types.ts';
import { refOf, type Client } from './Client.ts';

/** Attempts before a conflict is given up on (and thrown: the reconcile fails and is retried with backoff). */
const ATTEMPTS = 5;

/**
 * Writes `object`'s status as `next` makes it from the object as read; `next` returns false to leave the status as it
 * is, and a status equal to the one stored is not written. `next` and the caller only read the objects they get (the
 * answer may be the store's shared copy): a new status is a new object. `view` reads what the client returns as `T`. On a
 * conflict the object is read again and `next` asked again, up to five attempts; undefined when that read finds it
 * gone. Any other error is thrown, NotFound included: a caller about to act on the object must not go on as if the
 * status were written.
 */
export async function writeStatus<T extends StoredObject>(
  client: Client,
  object: T,
  view: (object: StoredObject) => T,
  next: (current: T) => T['status'] | false,
): Promise<{ object: T; written: boolean } | undefined> {
  let current: T | undefined = object;
  for (let attempt = 1; current; attempt++) {
    const status = next(current);
    if (status === false || jsonEqual(status, current.status ?? {})) return { object: current, written: false };
    try {
      // The answer is only read (by `next`, or by the caller): the store's shared copy.
      return { object: view(await client.updateStatus({ ...current, status }, { shared: true })), written: true };
    } catch (err) {
      if (!isApiError(err, 'Conflict') || attempt >= ATTEMPTS) throw err;
      const latest = await client.get(refOf(current));
      current = latest && view(latest);
    }
  }
  return undefined;
}
