/** metav1.Condition helpers: lastTransitionTime moves only when the status changes. */

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Returns a new list with `next` set; keeps the old transition time when the status did not change. */
export function setCondition(conditions: readonly Condition[] | undefined, next: Condition, now: string): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const old = i >= 0 ? list[i] : undefined;
  const merged: Condition = { ...next, lastTransitionTime: old && old.status === next.status ? (old.lastTransitionTime ?? now) : now };
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}
