/**
 * Field selectors: `f=v`, `f==v`, `f!=v`, comma = AND. Which fields are selectable is decided by the caller
 * (custom kinds allow metadata.name and metadata.namespace, as the real apiserver does).
 */
import { badRequest } from './errors.ts';
import { member } from './types.ts';

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

export function parseFieldSelector(input: string, allowed: readonly string[]): FieldRequirement[] {
  if (input.trim() === '') return [];
  return input.split(',').map((term) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: "${term}"`);
    const field = m[1] ?? '';
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, operator: m[2] === '!=' ? '!=' : '=', value: m[3] ?? '' };
  });
}

/** Reads a dotted field path (`metadata.name`, `involvedObject.uid`) from an object. */
export function readField(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    cur = member(cur, part);
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(obj: unknown, requirements: readonly FieldRequirement[]): boolean {
  return requirements.every((r) => (readField(obj, r.field) === r.value) === (r.operator === '='));
}
