/**
 * What a start acquired (a lock, an open store, a helper process, a socket, control groups, started controllers),
 * released in the reverse order: the last acquired first, so each part stops while what it uses is still there. One
 * list serves both ends of a life: `stop()` runs it, and so does a start that fails part way (a port in use, a bad
 * tokens file), which would otherwise leave the data directory locked and the step cgroups behind.
 */
export class Teardown {
  private readonly steps: { what: string; release: () => unknown }[] = [];
  private running: Promise<void> | undefined;

  /** Registers the release of something just acquired (`what` names it in an error). */
  add(what: string, release: () => unknown): void {
    this.steps.push({ what, release });
  }

  /**
   * Releases everything, last added first; every release runs even when one before it failed, and the first failure
   * is thrown once all have run. A second call waits for the first and releases nothing twice.
   */
  run(): Promise<void> {
    this.running ??= this.releaseAll();
    return this.running;
  }

  private async releaseAll(): Promise<void> {
    let first: Error | undefined;
    for (const { what, release } of this.steps.splice(0).reverse()) {
      try {
        await release();
      } catch (err) {
        first ??= new TeardownError(what, err);
      }
    }
    if (first) throw first;
  }
}

/** A release that failed; its cause is the error it threw. */
export class TeardownError extends Error {
  constructor(what: string, cause: unknown) {
    super(`stopping ${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'TeardownError';
  }
}
