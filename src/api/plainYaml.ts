/**
 * A fast reader for the plain YAML that tools write (status.yaml, rendered manifests, kubectl's output): block maps
 * and lists, flow maps and lists on one line, plain and quoted one-line scalars, comment lines, `---` between
 * documents. It answers only where its answer is the yaml library's (YAML 1.2 core schema, as boundedYaml reads it)
 * and otherwise gives up (`undefined`), and the library reads the text: anchors, aliases, tags, merge keys, block
 * scalars, scalars over several lines, inline comments, tabs, duplicate keys, anything over the limits or not ASCII.
 * The library builds a document model first and costs ~10× more; pipeline runs read their status and outputs
 * with it (#25).
 */

/** boundedYaml's limits that apply here: nesting and count of map entries and list items. */
export interface PlainLimits {
  maxDepth: number;
  maxNodes: number;
}

interface Line {
  indent: number;
  text: string;
}

/** Thrown inside the reader when the text goes beyond what it reads; never escapes it. */
class Beyond extends Error {}
const BEYOND = new Beyond();

// Keys: what the library reads as the same string. Not `<<` (merge), not words it reads as null or booleans.
const KEY = /^([A-Za-z_][A-Za-z0-9_./-]*):(?: +(.*))?$/;
const NOT_STRING_KEYS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'null', 'Null', 'NULL', '__proto__']);
// A plain scalar: no indicator first, no `: `, ` #`, tab, quote or flow character inside (a flow scalar ends there).
const PLAIN = /^[A-Za-z0-9_./=+~$()^-](?:[A-Za-z0-9_./=+~$()^@%!*&?<>;\\| -]|:(?=[^ ]))*$/;
const NUMBERISH = /^[-+.0-9]/;
const INT = /^-?(?:0|[1-9][0-9]{0,14})$/;
const FLOAT = /^-?(?:0|[1-9][0-9]{0,14})\.[0-9]{1,15}$/;
// The core schema's numbers, as the library tests them: a scalar like these that is not INT or FLOAT above is left
// to the library (its own rounding, signs, octal and hex).
const CORE_NUMBERS = [
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
];

/** A plain scalar's value by the core schema, or Beyond. */
function plainValue(s: string): unknown {
  switch (s) {
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
  }
  if (!PLAIN.test(s) || s.endsWith(' ')) throw BEYOND;
  if (NUMBERISH.test(s)) {
    if (INT.test(s) || FLOAT.test(s)) return Number(s);
    for (const re of CORE_NUMBERS) if (re.test(s)) throw BEYOND;
  }
  return s;
}

class Reader {
  private readonly lines: Line[];
  private i = 0;
  private readonly limits: PlainLimits;
  /** Map entries and list items so far, every document of the text together (as the library counts them). */
  private readonly counted: { nodes: number };

  constructor(lines: Line[], limits: PlainLimits, counted: { nodes: number }) {
    this.lines = lines;
    this.limits = limits;
    this.counted = counted;
  }

  /** The document: one block or flow node taking every line. */
  document(): unknown {
    const first = this.lines[0];
    if (!first || first.indent !== 0) throw BEYOND;
    let value: unknown;
    if (first.text[0] === '{' || first.text[0] === '[') {
      if (this.lines.length !== 1) throw BEYOND;
      value = this.flowWhole(first.text, 1);
    } else value = this.block(0, 1);
    if (this.i !== this.lines.length) throw BEYOND;
    return value;
  }

  private count(): void {
    if (++this.counted.nodes > this.limits.maxNodes) throw BEYOND;
  }

  private block(indent: number, depth: number): unknown {
    const line = this.lines[this.i];
    if (!line || line.indent !== indent || depth > this.limits.maxDepth) throw BEYOND;
    return isItem(line.text) ? this.list(indent, depth) : this.map(indent, depth);
  }

  private map(indent: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let line = this.lines[this.i]; line && line.indent === indent && !isItem(line.text); line = this.lines[this.i]) {
      const m = KEY.exec(line.text);
      const key = m?.[1];
      if (key === undefined || NOT_STRING_KEYS.has(key) || Object.hasOwn(out, key)) throw BEYOND;
      this.count();
      this.i++;
      const rest = m?.[2];
      out[key] = rest === undefined || rest === '' ? this.valueBelow(indent, depth + 1, true) : this.inline(rest, depth + 1);
    }
    const next = this.lines[this.i];
    if (next && next.indent > indent) throw BEYOND; // a scalar over several lines, or bad indentation
    return out;
  }

  private list(indent: number, depth: number): unknown[] {
    const out: unknown[] = [];
    for (let line = this.lines[this.i]; line && line.indent === indent && isItem(line.text); line = this.lines[this.i]) {
      this.count();
      const text = line.text;
      let at = 1;
      while (text[at] === ' ') at++;
      const rest = text.slice(at);
      if (rest === '') {
        this.i++;
        out.push(this.valueBelow(indent, depth + 1, false));
      } else if (isItem(rest) || KEY.test(rest)) {
        // `- key: value` or `- - item`: a block node whose first line starts after the dash.
        this.lines[this.i] = { indent: indent + at, text: rest };
        out.push(this.block(indent + at, depth + 1));
      } else {
        this.i++;
        out.push(this.inline(rest, depth + 1));
      }
    }
    const next = this.lines[this.i];
    if (next && next.indent > indent) throw BEYOND;
    return out;
  }

  /** The value of `key:` or `-` with nothing after it: a block below, a list at the key's indent, or null. */
  private valueBelow(indent: number, depth: number, sameIndentList: boolean): unknown {
    const next = this.lines[this.i];
    if (next && next.indent > indent) return this.block(next.indent, depth);
    if (sameIndentList && next && next.indent === indent && isItem(next.text)) return this.list(indent, depth);
    return null;
  }

  /** What follows `key: ` or `- ` on its line. */
  private inline(text: string, depth: number): unknown {
    const c = text[0];
    if (isItem(text)) throw BEYOND; // a list on a key's line: not YAML
    if (c === '{' || c === '[') return this.flowWhole(text, depth);
    if (c === '"' || c === "'") {
      const [value, end] = quoted(text, 0);
      if (end !== text.length) throw BEYOND;
      return value;
    }
    return plainValue(text);
  }

  private flowWhole(text: string, depth: number): unknown {
    const [value, end] = this.flow(text, 0, depth);
    if (end !== text.length) throw BEYOND;
    return value;
  }

  /** A flow map or list starting at `at`: its value and the index after it. */
  private flow(text: string, at: number, depth: number): [unknown, number] {
    if (depth > this.limits.maxDepth) throw BEYOND;
    const map = text[at] === '{';
    const close = map ? '}' : ']';
    const obj: Record<string, unknown> = {};
    const list: unknown[] = [];
    const out = map ? obj : list;
    at = skipSpaces(text, at + 1);
    if (text[at] === close) return [out, at + 1];
    for (;;) {
      this.count();
      if (map) {
        const colon = text.indexOf(': ', at);
        const key = colon < 0 ? undefined : text.slice(at, colon);
        if (key === undefined || !/^[A-Za-z_][A-Za-z0-9_./-]*$/.test(key) || NOT_STRING_KEYS.has(key)) throw BEYOND;
        if (Object.hasOwn(obj, key)) throw BEYOND;
        const [value, end] = this.flowValue(text, skipSpaces(text, colon + 2), depth + 1);
        obj[key] = value;
        at = end;
      } else {
        const [value, end] = this.flowValue(text, at, depth + 1);
        list.push(value);
        at = end;
      }
      at = skipSpaces(text, at);
      if (text[at] === close) return [out, at + 1];
      if (text[at] !== ',') throw BEYOND;
      at = skipSpaces(text, at + 1);
      if (text[at] === close) throw BEYOND; // a trailing comma: left to the library
    }
  }

  private flowValue(text: string, at: number, depth: number): [unknown, number] {
    const c = text[at];
    if (c === '{' || c === '[') return this.flow(text, at, depth);
    if (c === '"' || c === "'") return quoted(text, at);
    let end = at;
    while (end < text.length && !',]}'.includes(text[end] ?? '')) end++;
    const s = text.slice(at, end).trimEnd();
    if (s === '' || isItem(s)) throw BEYOND;
    return [plainValue(s), end];
  }
}

function isItem(text: string): boolean {
  return text[0] === '-' && (text.length === 1 || text[1] === ' ');
}

function skipSpaces(text: string, at: number): number {
  while (text[at] === ' ') at++;
  return at;
}

/** A one-line quoted scalar starting at `at` (only the escapes `\\`, `\"`, `\n`, `\t` in double quotes). */
function quoted(text: string, at: number): [string, number] {
  const q = text[at];
  let out = '';
  for (let k = at + 1; k < text.length; k++) {
    const c = text[k];
    if (c === q) {
      if (q === "'" && text[k + 1] === "'") {
        out += "'";
        k++;
        continue;
      }
      return [out, k + 1];
    }
    if (c === '\\' && q === '"') {
      const e = text[++k];
      if (e === '\\' || e === '"') out += e;
      else if (e === 'n') out += '\n';
      else if (e === 't') out += '\t';
      else throw BEYOND;
      continue;
    }
    out += c;
  }
  throw BEYOND; // goes on past the line
}

/** The documents of the text, or undefined when the library must read it. `stream`: several documents may follow. */
export function parsePlainYaml(text: string, limits: PlainLimits, stream: boolean): unknown[] | undefined {
  // ASCII without tabs or carriage returns: every line break is \n and every character one code unit.
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if ((c < 0x20 && c !== 0x0a) || c > 0x7e) return undefined;
  }
  const docs: Line[][] = [];
  let lines: Line[] = [];
  let separated = false;
  for (const raw of text.split('\n')) {
    let end = raw.length;
    while (end > 0 && raw.charCodeAt(end - 1) === 0x20) end--;
    let indent = 0;
    while (indent < end && raw.charCodeAt(indent) === 0x20) indent++;
    if (indent === end) continue;
    if (raw[indent] === '#') continue;
    if (indent === 0 && (raw.startsWith('---') || raw.startsWith('...') || raw[0] === '%')) {
      if (end !== 3 || raw[0] !== '-') return undefined;
      if (!lines.length && (separated || docs.length)) return undefined; // an empty document
      if (lines.length) docs.push(lines);
      separated = true;
      lines = [];
      continue;
    }
    lines.push({ indent, text: raw.slice(indent, end) });
  }
  if (!lines.length) return undefined; // nothing, or an empty last document
  docs.push(lines);
  if (!stream && docs.length > 1) return undefined;
  const out: unknown[] = [];
  const counted = { nodes: 0 };
  try {
    for (const doc of docs) out.push(new Reader(doc, limits, counted).document());
  } catch (err) {
    if (err instanceof Beyond) return undefined;
    throw err;
  }
  return out;
}
