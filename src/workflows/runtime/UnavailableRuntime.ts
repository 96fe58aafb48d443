/** Stands in when no runtime can run steps here (e.g. bwrap missing): every step fails with the reason and fix. */
import type { StepOutcome, StepRuntime } from '../StepRuntime.ts';

export class UnavailableRuntime implements StepRuntime {
  readonly name = 'unavailable';
  private readonly reason: string;

  constructor(reason: string) {
    this.reason = reason;
  }

  check(): Promise<string | undefined> {
    return Promise.resolve(this.reason);
  }

  run(): Promise<StepOutcome> {
    return Promise.resolve({
      exitCode: null,
      signal: null,
      timedOut: false,
      aborted: false,
      durationMs: 0,
      log: `cannot run pipeline steps: ${this.reason}\n`,
      logTruncated: false,
    });
  }
}
