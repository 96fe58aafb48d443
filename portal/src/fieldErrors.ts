/** A 422's causes (`spec.replicas: Invalid value…`) as errors on the form's fields (rjsf's error schema). */
import type { ErrorSchema } from '@rjsf/utils';
import { ApiError } from './api.ts';

interface ErrorNode {
  __errors?: string[];
  [field: string]: ErrorNode | string[] | undefined;
}

export function fieldErrors(err: unknown): ErrorSchema | undefined {
  if (!(err instanceof ApiError) || !err.causes.length) return undefined;
  const out: ErrorNode = {};
  for (const c of err.causes) {
    // The form edits `spec`: its fields' paths start below it; list indexes become keys, as rjsf keys items.
    const path = (c.field ?? '')
      .replace(/^spec\.?/, '')
      .split(/[.[\]]/)
      .filter(Boolean);
    let node = out;
    for (const p of path) {
      const next = node[p];
      node = typeof next === 'object' && !Array.isArray(next) ? next : (node[p] = {});
    }
    (node.__errors ??= []).push(c.message ?? 'invalid');
  }
  return out as ErrorSchema;
}
