/**
 * A fixed number of slots, taken and given back, first come first served: how many pipeline steps (a sandbox each)
 * may run at once on this machine. The work around a step (its workspace, its records in the store) holds no slot, so
 * it overlaps the steps that run meanwhile instead of keeping a core idle.
 */
export class Slots {
  private free: number;
  private readonly waiting: { grant: () => void }[] = [];

  constructor(options: { size: number }) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError(`slots: the size must be a whole number of at least 1, not ${options.size}`);
    this.free = options.size;
  }

  /** Slots free now. */
  get available(): number {
    return this.free;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A slot, once one is free; resolves to the function that gives it back (once: later calls do nothing). A wait
   * ended by `signal` rejects with its reason and takes no slot.
   */
  take(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private releaser(): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      // The slot goes straight to the first waiter, if any: it is never free in between for a newcomer to take.
      const next = this.waiting.shift();
      if (next) next.grant();
      else this.free++;
    };
  }
}
