/**
 * How long to wait before the next run of work whose every run re-derives something fleet-sized (a rollout's
 * decision, a state store's desired tree): three times what the last run took, so it takes at most a quarter of the
 * event loop and batches grow under a stream of changes; never less than `minMs`, never more than `maxMs`.
 */
export function spacedAfter(lastTookMs: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, Math.max(minMs, 3 * lastTookMs));
}
