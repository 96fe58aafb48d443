/**
 * FleetOps logs JSON lines (pino) for log collectors; on a terminal a person reads them: this turns each line into
 * `18:44:08 INFO  controllers  pipeline finished  pipeline=configure ok=true durationMs=812`. Anything that is not a
 * JSON line passes through unchanged.
 */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component']);

function show(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v !== null && typeof v === 'object' && 'message' in v && typeof v.message === 'string') return JSON.stringify(v.message);
  return JSON.stringify(v);
}

/** One pino JSON line as a readable line (without its newline). */
export function readableLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return line;
    o = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 19) : '';
  const level = LEVELS[Number(o.level)] ?? String(o.level ?? '');
  const component = typeof o.component === 'string' ? `${o.component}  ` : '';
  const fields = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(' ');
  return `${time} ${level} ${component}${String(o.msg ?? '')}${fields ? `  ${fields}` : ''}`;
}

/** A pino destination writing readable lines to `out` (a terminal). */
export function readableDestination(out: NodeJS.WritableStream): { write(chunk: string): boolean } {
  return {
    write(chunk) {
      const text = chunk
        .split('\n')
        .filter(Boolean)
        .map((l) => `${readableLine(l)}\n`)
        .join('');
      return out.write(text);
    },
  };
}
