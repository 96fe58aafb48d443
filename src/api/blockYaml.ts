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

function isCollection(value: unknown): value is object {
  return typeof value === 'object' && value !== null && (Array.isArray(value) ? value.length > 0 : Object.values(value).some((v) => v !== undefined));
}

function scalar(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return scalarText(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return '[]';
  return '{}';
}

function emit(value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isCollection(item)) {
        // "- " then the collection's first line on the same line, the rest indented under it.
        const inner: string[] = [];
        emit(item, `${indent}  `, inner);
        out.push(`${indent}- ${(inner[0] ?? '').slice(indent.length + 2)}`, ...inner.slice(1));
      } else out.push(`${indent}- ${scalar(item === undefined ? null : item)}`);
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const key in value) {
    const v: unknown = Object.hasOwn(value, key) ? Reflect.get(value, key) : undefined;
    if (v === undefined) continue;
    const k = scalarText(key);
    if (isCollection(v)) {
      out.push(`${indent}${k}:`);
      emit(v, Array.isArray(v) ? indent : `${indent}  `, out);
    } else out.push(`${indent}${k}: ${scalar(v)}`);
  }
}

/** `value` (JSON data) as block-style YAML, ending with a newline. */
export function toBlockYaml(value: unknown): string {
  if (!isCollection(value)) return `${scalar(value ?? null)}\n`;
  const out: string[] = [];
  emit(value, '', out);
  return `${out.join('\n')}\n`;
}
