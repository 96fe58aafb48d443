/** The `meta.k8s.io/v1` Table format that kubectl asks for in human-readable output. */
import { humanDuration } from '../api/duration.ts';
import { evaluateJsonPath, formatJsonPathResult } from '../api/jsonPath.ts';
import type { KubeObject } from '../api/types.ts';
import type { PrinterColumn, ResourceType } from '../registry/ResourceType.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

const NAME_COLUMN = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.',
  priority: 0,
};

const DEFAULT_COLUMNS: PrinterColumn[] = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];

export function columnsOf(t: ResourceType): PrinterColumn[] {
  return t.printerColumns.length ? t.printerColumns : DEFAULT_COLUMNS;
}

/** One cell, typed as the column says; missing values are null (printed empty by kubectl). */
export function cellValue(column: PrinterColumn, obj: KubeObject, now: number): unknown {
  let values: unknown[];
  try {
    values = column.compute ? [column.compute(obj)].filter((v) => v !== undefined) : evaluateJsonPath(obj, column.jsonPath);
  } catch {
    return null;
  }
  if (values.length === 0) return null;
  const first = values[0];
  switch (column.type) {
    case 'date':
      return typeof first === 'string' ? humanDuration(now - Date.parse(first)) : null;
    case 'integer':
    case 'number':
      return typeof first === 'number' ? first : null;
    case 'boolean':
      return typeof first === 'boolean' ? first : null;
    default:
      return formatJsonPathResult(values);
  }
}

function rowObject(obj: KubeObject, include: IncludeObject): object | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function toTable(
  t: ResourceType,
  objects: KubeObject[],
  opts: { include: IncludeObject; headers: boolean; resourceVersion: string; continue?: string; now: number },
): object {
  const columns = columnsOf(t);
  const rows = objects.map((obj) => {
    const row: { cells: unknown[]; object?: object } = {
      cells: [obj.metadata.name, ...columns.map((c) => cellValue(c, obj, opts.now))],
    };
    const o = rowObject(obj, opts.include);
    if (o) row.object = o;
    return row;
  });
  const columnDefinitions = opts.headers
    ? [
        NAME_COLUMN,
        ...columns.map((c) => ({
          name: c.name,
          type: c.type,
          format: c.format ?? '',
          description: c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
          priority: c.priority ?? 0,
        })),
      ]
    : [];
  const metadata: Record<string, string> = { resourceVersion: opts.resourceVersion };
  if (opts.continue) metadata.continue = opts.continue;
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions, rows };
}

export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept);
}
