/**
 * Where FleetOps' heap allocations come from, by component, from V8's sampling heap profiler (objects collected since
 * counted too): what garbage collection, on the main thread and on V8's helper threads, has to clear after. Each
 * sampled byte is charged as cpuBreakdown charges CPU: to the component of the nearest FleetOps frame on its stack.
 */
import { componentOf } from './cpuBreakdown.ts';

/** The parts of a `HeapProfiler.stopSampling` answer this reads. */
export interface SamplingHeapProfile {
  head: SamplingNode;
}

interface SamplingNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: SamplingNode[];
}

/** Bytes sampled in all, and by component, largest first. */
export function allocationBreakdown(profile: SamplingHeapProfile): { total: number; lines: { component: string; bytes: number }[] } {
  const bytes = new Map<string, number>();
  let total = 0;
  // Iterative: a deep recursion in FleetOps (a JSON copy) makes as deep a profile.
  const stack: { node: SamplingNode; component: string | undefined }[] = [{ node: profile.head, component: undefined }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const component = componentOf(top.node.callFrame.url) ?? top.component;
    if (top.node.selfSize) {
      const name = component ?? 'Node.js and libraries, outside FleetOps';
      bytes.set(name, (bytes.get(name) ?? 0) + top.node.selfSize);
      total += top.node.selfSize;
    }
    for (const child of top.node.children) stack.push({ node: child, component });
  }
  return { total, lines: [...bytes].map(([component, n]) => ({ component, bytes: n })).sort((a, b) => b.bytes - a.bytes) };
}
