/**
 * A small YAML emitter for JSON data, in the block style people expect to read and grep (`image: nginx`, not
 * `"image": "nginx"`). The yaml library builds a document model first, which cost ~0.5 ms per pipeline input;
 * this writes text directly. A string is written plain only when it cannot be read back as anything else (YAML 1.1
 * or 1.2 booleans, nulls, numbers, dates, indicators); otherwise double-quoted with JSON escapes, which YAML reads
 * the same. Round-trips through any YAML parser (tested against the yaml library).
 */

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@,=+-]*(?: [A-Za-z0-9_./@,=+-]+)*$/;
const RESERVED = /^(?:true|false|yes|no|on|off|y|n|null|nan|inf)$/i;

function scalarText(value: string): string {
  return value !== '' && PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
}

/** Whether a list or map has something to write (a member that is not undefined): a block of its own, not `[]`/`{}`. */
function isCollection(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  for (const key in value) if (Object.hasOwn(value, key) && Reflect.get(value, key) !== undefined) return true;
  return false;
}

function scalar(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return scalarText(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return '[]';
  return '{}';
}

/**
 * The lines of a collection, each ending with a newline, indented by `indent` but the first, which starts with `lead`
 * instead: a list item's "- " puts its collection's first line on its own line. Written into one string as it goes
 * (the first version built arrays of lines per list item and copied them into their parent's).
 */
function emit(value: object, indent: string, lead: string): string {
  let out = '';
  let first = true;
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    for (const item of items) {
      const dash = `${first ? lead : indent}- `;
      first = false;
      out += isCollection(item) ? emit(item, `${indent}  `, dash) : `${dash}${scalar(item === undefined ? null : item)}\n`;
    }
    return out;
  }
  for (const key in value) {
    const v: unknown = Object.hasOwn(value, key) ? Reflect.get(value, key) : undefined;
    if (v === undefined) continue;
    const line = `${first ? lead : indent}${scalarText(key)}:`;
    first = false;
    if (isCollection(v)) {
      const inner = Array.isArray(v) ? indent : `${indent}  `;
      out += `${line}\n${emit(v, inner, inner)}`;
    } else out += `${line} ${scalar(v)}\n`;
  }
  return out;
}

/** `value` (JSON data) as block-style YAML, ending with a newline. */
export function toBlockYaml(value: unknown): string {
  return isCollection(value) ? emit(value, '', '') : `${scalar(value ?? null)}\n`;
}
