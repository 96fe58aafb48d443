/**
 * Label selectors with the grammar of apimachinery `labels/selector.go`: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k`, `!k`, `k>n`, `k<n`; comma means AND. Shared by server, CLI and controllers.
 */
import { badRequest } from './errors.ts';
import { validateLabelKey, validateLabelValue } from './validation.ts';

export type Operator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export interface LabelSelector {
  requirements: Requirement[];
  matches(labels: Record<string, string> | undefined): boolean;
  isEmpty(): boolean;
  toString(): string;
}

function matchRequirement(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.operator) {
    case '=':
    case 'in':
      return value !== undefined && r.values.includes(value);
    case '!=':
    case 'notin':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has) return false;
      const n = Number(value);
      const bound = Number(r.values[0]);
      if (!Number.isInteger(n)) return false;
      return r.operator === 'gt' ? n > bound : n < bound;
    }
  }
}

function formatRequirement(r: Requirement): string {
  switch (r.operator) {
    case '=':
    case '!=':
      return `${r.key}${r.operator}${r.values[0]}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${r.values.join(',')})`;
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'gt':
      return `${r.key}>${r.values[0]}`;
    case 'lt':
      return `${r.key}<${r.values[0]}`;
  }
}

export function selectorFromRequirements(requirements: Requirement[]): LabelSelector {
  const sorted = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    requirements: sorted,
    matches: (labels) => sorted.every((r) => matchRequirement(r, labels ?? {})),
    isEmpty: () => sorted.length === 0,
    toString: () => sorted.map(formatRequirement).join(','),
  };
}

/**
 * What an object's JSON text must contain to have a chance of matching `selector`: for each requirement that a label
 * must be there for (`=`, `in`, exists, `>`, `<`), the texts one of which a matching label writes — `"key":"value"`,
 * or `"key":` — as JSON.stringify writes them (label keys and values hold no character it escapes). A text holding
 * none of a requirement's cannot match; one holding them may (the text may be elsewhere in the object): it is parsed
 * and matched. Requirements a label's absence meets (`!=`, `notin`, `!`) ask for nothing. The stores keep texts as
 * JSON.stringify wrote them (ADR 0039; their conformance suite checks it), and search them for these in their query
 * (ListOptions.containing).
 */
export function labelNeedles(selector: LabelSelector): string[][] {
  const needles: string[][] = [];
  for (const r of selector.requirements) {
    const key = JSON.stringify(r.key);
    if (r.operator === '=' || r.operator === 'in') needles.push(r.values.map((v) => `${key}:${JSON.stringify(v)}`));
    else if (r.operator === 'exists' || r.operator === 'gt' || r.operator === 'lt') needles.push([`${key}:`]);
  }
  return needles;
}

/** The selector that matches everything. */
export const everything: LabelSelector = selectorFromRequirements([]);

/** Builds a selector from a `matchLabels` map (each pair is an equality requirement). */
export function selectorFromMatchLabels(matchLabels: Record<string, string> | undefined): LabelSelector {
  return selectorFromRequirements(Object.entries(matchLabels ?? {}).map(([key, value]) => ({ key, operator: '=' as const, values: [value] })));
}

class Lexer {
  private pos = 0;
  private readonly input: string;
  constructor(input: string) {
    this.input = input;
  }

  private skipSpace(): void {
    while (this.pos < this.input.length && /\s/.test(this.input.charAt(this.pos))) this.pos++;
  }

  peek(): string {
    this.skipSpace();
    return this.input.slice(this.pos);
  }

  done(): boolean {
    return this.peek() === '';
  }

  /** Consumes one of the given literal tokens if present. */
  accept(...tokens: string[]): string | undefined {
    const rest = this.peek();
    for (const t of tokens) {
      if (rest.startsWith(t)) {
        // keyword operators must stand alone: `in` in `inside` is not the operator
        if (/^[a-z]+$/.test(t) && /[A-Za-z0-9_.\-/]/.test(rest[t.length] ?? '')) continue;
        this.pos += this.input.length - this.pos - rest.length + t.length;
        return t;
      }
    }
    return undefined;
  }

  identifier(): string {
    const rest = this.peek();
    const m = /^[A-Za-z0-9_.\-/]+/.exec(rest);
    if (!m) return '';
    this.pos += this.input.length - this.pos - rest.length + m[0].length;
    return m[0];
  }
}

/** Parses a label selector string; throws 400 BadRequest with the reason when invalid. */
export function parseLabelSelector(input: string): LabelSelector {
  const lx = new Lexer(input);
  const requirements: Requirement[] = [];
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why} (in label selector "${input}")`);
  };
  if (lx.done()) return everything;
  for (;;) {
    let requirement: Requirement;
    if (lx.accept('!')) {
      const key = lx.identifier();
      if (!key) fail('missing key after "!"');
      requirement = { key, operator: '!', values: [] };
    } else {
      const key = lx.identifier();
      if (!key) fail(`invalid selector near "${lx.peek()}"`);
      const op = lx.accept('==', '!=', '=', 'notin', 'in', '>', '<');
      if (op === undefined) {
        requirement = { key, operator: 'exists', values: [] };
      } else if (op === 'in' || op === 'notin') {
        if (!lx.accept('(')) fail(`expected "(" after "${op}"`);
        const values: string[] = [];
        if (!lx.accept(')')) {
          for (;;) {
            values.push(lx.identifier());
            if (lx.accept(')')) break;
            if (!lx.accept(',')) fail('expected "," or ")" in value set');
          }
        }
        // apimachinery's NewRequirement: an empty set would match nothing (in) or everything (notin), silently.
        if (!values.length) fail(`for 'in', 'notin' operators, values set can't be empty`);
        requirement = { key, operator: op, values };
      } else {
        const value = lx.identifier();
        if (op === '>' || op === '<') {
          if (!/^-?\d+$/.test(value)) fail(`for "${op}" the value must be an integer, got "${value}"`);
          requirement = { key, operator: op === '>' ? 'gt' : 'lt', values: [value] };
        } else {
          requirement = { key, operator: op === '!=' ? '!=' : '=', values: [value] };
        }
      }
    }
    const keyErr = validateLabelKey(requirement.key);
    if (keyErr) fail(`invalid label key "${requirement.key}": ${keyErr}`);
    if (requirement.operator !== 'gt' && requirement.operator !== 'lt') {
      for (const v of requirement.values) {
        const valueErr = validateLabelValue(v);
        if (valueErr) fail(`invalid label value "${v}": ${valueErr}`);
      }
    }
    requirements.push(requirement);
    if (lx.done()) break;
    if (!lx.accept(',')) fail(`expected "," near "${lx.peek()}"`);
  }
  return selectorFromRequirements(requirements);
}
