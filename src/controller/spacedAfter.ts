/**
 * How long to wait before the next run of work whose every run re-derives something fleet-sized (a rollout's
 * decision, a state store's desired tree): `factor` times what the last run took (three by default), so it takes at
 * most a quarter of the time and batches grow under a stream of changes; never less than `minMs`, never more than
 * `maxMs`.
 */
export function spacedAfter(lastTookMs: number, minMs: number, maxMs: number, factor = 3): number {
  return Math.min(maxMs, Math.max(minMs, factor * lastTookMs));
}
