/**
 * The subset of kubectl JSONPath that printer columns and custom columns use: `.a.b`, `.a[0]`, `.a[*].b`,
 * `.a[?(@.type=="Ready")].message`, and `{...}` wrappers. Returns every match.
 */
import { isPlainObject, member } from './types.ts';

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'descend' }
  | { kind: 'filter'; path: string[]; value: string; negate: boolean };

function parse(expr: string): Step[] {
  let e = expr.trim();
  // Templates (`{range …}{end}`, several `{…}` with text between) are kubectl's -o jsonpath output language, not a
  // path: refused by name rather than matching nothing.
  if (/\{\s*(range|end)\b/.test(e) || (e.match(/\{/g)?.length ?? 0) > 1)
    throw new Error(`JSONPath templates such as {range}…{end} are not supported here: give one path, e.g. {.metadata.name}`);
  if (e.startsWith('{') && e.endsWith('}')) e = e.slice(1, -1);
  if (e.startsWith('$')) e = e.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < e.length) {
    const c = e[i];
    if (c === '.' && e[i + 1] === '.') {
      // `..name`: the name at any depth (recursive descent)
      steps.push({ kind: 'descend' });
      i++;
    } else if (c === '.') {
      i++;
      const m = /^[^.[\]]+/.exec(e.slice(i));
      if (m) {
        steps.push({ kind: 'field', name: m[0] });
        i += m[0].length;
      }
    } else if (c === '[') {
      const end = e.indexOf(']', e.indexOf(')', i) > 0 && e.slice(i).startsWith('[?(') ? e.indexOf(')', i) : i);
      if (end < 0) throw new Error(`unterminated [ in JSONPath ${expr}`);
      const inner = e.slice(i + 1, end);
      i = end + 1;
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else {
        const f = /^\?\(@\.([\w.]+)\s*(==|!=)\s*["']?(.*?)["']?\)$/.exec(inner);
        if (!f) throw new Error(`unsupported JSONPath filter [${inner}]`);
        steps.push({ kind: 'filter', path: (f[1] ?? '').split('.'), negate: f[2] === '!=', value: f[3] ?? '' });
      }
    } else {
      const m = /^[^.[\]]+/.exec(e.slice(i));
      if (!m) throw new Error(`unexpected "${c}" in JSONPath ${expr}`);
      steps.push({ kind: 'field', name: m[0] });
      i += m[0].length;
    }
  }
  return steps;
}

function get(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) cur = member(cur, p);
  return cur;
}

const cache = new Map<string, Step[]>();

/** Evaluates a JSONPath expression; throws on syntax it does not support. */
export function evaluateJsonPath(obj: unknown, expr: string): unknown[] {
  let steps = cache.get(expr);
  if (!steps) {
    steps = parse(expr);
    cache.set(expr, steps);
  }
  let current: unknown[] = [obj];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'field') {
        if (isPlainObject(v)) {
          const f = v[step.name];
          if (f !== undefined) next.push(f);
        }
      } else if (step.kind === 'index') {
        if (Array.isArray(v)) {
          const item = v[step.index < 0 ? v.length + step.index : step.index];
          if (item !== undefined) next.push(item);
        }
      } else if (step.kind === 'descend') {
        // the value and everything below it, depth first, in document order
        const stack = [v];
        while (stack.length) {
          const x = stack.pop();
          next.push(x);
          if (typeof x === 'object' && x !== null) stack.push(...(Array.isArray(x) ? [...x] : Object.values(x)).reverse());
        }
      } else if (step.kind === 'all') {
        if (Array.isArray(v)) next.push(...v);
        else if (typeof v === 'object' && v !== null) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          const got = get(item, step.path);
          const eq = got !== undefined && String(got) === step.value;
          if (eq !== step.negate) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

/** Renders matches as kubectl prints them: scalars as text, objects as JSON, several joined by commas. */
export function formatJsonPathResult(values: unknown[]): string {
  return values.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))).join(',');
}
