/**
 * How far V8 lets the heap grow past what the last full collection left live before it collects again. Left to
 * itself V8 picks a factor of up to 2 and more on a large heap (it favours speed): at 100,000 resources the process
 * peaked at 1.2 GiB with ~0.6 GiB live. At 1.5 the peak was 0.8 GiB, with the start-up's reconcile of every
 * resource as fast (66 s) and /healthz unchanged: more frequent full collections, whose marking runs on helper
 * threads. Process-wide; a `--heap-growing-percent` given to node by the operator wins.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

export function limitHeapGrowth(percent = HEAP_GROWING_PERCENT, given: string[] = [...process.execArgv, process.env.NODE_OPTIONS ?? '']): boolean {
  if (given.some((a) => a.includes('heap-growing-percent') || a.includes('heap_growing_percent'))) return false;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}
