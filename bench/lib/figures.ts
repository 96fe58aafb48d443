/** What every benchmark needs to read its flags and print its figures. */

/** `--name N` from the command line, else `def`. */
export function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

/** The p-th percentile of `xs` (nearest rank). */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** A figure as printed: whole above 100, one decimal below. */
export const fmt = (n: number): string => n.toFixed(n >= 100 ? 0 : 1);
