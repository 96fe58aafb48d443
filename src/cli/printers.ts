/** kubectl-style output: aligned tables without borders, YAML/JSON, names, custom columns. */
import { stringify } from 'yaml';
import { evaluateJsonPath, formatJsonPathResult } from '../api/jsonPath.ts';
import type { KubeObject } from '../api/types.ts';

/** Whether a watch event carries a Table (its rows), as the server sends when asked for tables. */
export function isTableDoc(value: unknown): value is TableDoc {
  return typeof value === 'object' && value !== null && 'rows' in value && Array.isArray(value.rows);
}

export interface TableDoc {
  columnDefinitions: { name: string; priority?: number }[];
  rows: { cells: unknown[]; object?: { metadata?: { namespace?: string; labels?: Record<string, string> } } }[];
}

/** Aligns rows under headers with three spaces between columns, as kubectl does. */
export function formatColumns(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [headers, ...rows].map(line).join('\n') + '\n';
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export interface TableOptions {
  wide: boolean;
  withNamespace: boolean;
  noHeaders: boolean;
  showLabels?: boolean;
}

/** Renders a server-side Table. Keeps the column set of the first table seen (for watches). */
export function renderTable(table: TableDoc, opts: TableOptions, columns = table.columnDefinitions): string {
  const visible = columns.map((c, i) => ({ c, i })).filter(({ c }) => opts.wide || !c.priority);
  const headers = [...(opts.withNamespace ? ['NAMESPACE'] : []), ...visible.map(({ c }) => c.name.toUpperCase()), ...(opts.showLabels ? ['LABELS'] : [])];
  const rows = table.rows.map((r) => [
    ...(opts.withNamespace ? [r.object?.metadata?.namespace ?? ''] : []),
    ...visible.map(({ i }) => cellText(r.cells[i])),
    ...(opts.showLabels
      ? [
          Object.entries(r.object?.metadata?.labels ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(',') || '<none>',
        ]
      : []),
  ]);
  const text = formatColumns(headers, rows);
  return opts.noHeaders ? text.split('\n').slice(1).join('\n') : text;
}

export function parseCustomColumns(spec: string): { header: string; path: string }[] {
  return spec.split(',').map((part) => {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new Error(`custom-columns format is HEADER:JSONPATH[,HEADER:JSONPATH...]; got "${part}"`);
    const path = part.slice(colon + 1).trim();
    return { header: part.slice(0, colon).trim(), path: path.startsWith('{') ? path : `{${path}}` };
  });
}

export function renderCustomColumns(objects: KubeObject[], columns: { header: string; path: string }[], noHeaders: boolean): string {
  const rows = objects.map((o) =>
    columns.map(({ path }) => {
      const values = evaluateJsonPath(o, path);
      return values.length ? formatJsonPathResult(values) : '<none>';
    }),
  );
  const text = formatColumns(
    columns.map((c) => c.header),
    rows,
  );
  return noHeaders ? text.split('\n').slice(1).join('\n') : text;
}

export function renderYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 4) + '\n';
}

/** `kind.group/name` as kubectl prints it, from each object's own kind and apiVersion. */
export function renderName(objects: KubeObject[]): string {
  return objects
    .map((o) => {
      const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
      return `${o.kind.toLowerCase()}${group ? `.${group}` : ''}/${o.metadata.name}\n`;
    })
    .join('');
}
