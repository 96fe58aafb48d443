/** `fleetops describe`: every field of the object in kubectl's describe layout, then its Events. */
import { humanDuration } from '../../api/duration.ts';
import { isPlainObject, type StoredObject } from '../../api/types.ts';
import type { KubeEvent } from '../../registry/builtin/coreKinds.ts';
import { objectPath } from '../../client/discovery.ts';
import type { CliContext } from '../context.ts';
import { formatColumns } from '../printers.ts';

function title(key: string): string {
  const spaced = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function describeValue(value: unknown, indent: number, lines: string[]): void {
  const pad = ' '.repeat(indent);
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (isPlainObject(v) || (Array.isArray(v) && v.some((x) => typeof x === 'object'))) {
        lines.push(`${pad}${title(k)}:`);
        describeValue(v, indent + 2, lines);
      } else if (Array.isArray(v)) {
        lines.push(`${pad}${title(k)}:`);
        for (const x of v) lines.push(`${pad}  ${String(x)}`);
      } else {
        lines.push(`${pad}${title(k)}:${' '.repeat(Math.max(1, 2))}${String(v)}`);
      }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) {
      const sub: string[] = [];
      describeValue(item, indent + 2, sub);
      if (sub[0] !== undefined) sub[0] = `${pad}  ${sub[0].trimStart()}`;
      lines.push(...sub);
    }
  } else {
    lines.push(`${pad}${String(value)}`);
  }
}

function mapLines(label: string, map: Record<string, string> | undefined): string[] {
  const entries = Object.entries(map ?? {}).filter(([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration');
  if (!entries.length) return [`${label.padEnd(13)}<none>`];
  return entries.map(([k, v], i) => `${(i === 0 ? label : '').padEnd(13)}${k}=${v}`);
}

export async function describeCommand(ctx: CliContext, type: string, name: string, out: (text: string) => void, now = Date.now()): Promise<number> {
  const r = await ctx.discovery.resolve(type);
  const ns = r.namespaced ? ctx.namespace : undefined;
  const obj = await ctx.client.get<StoredObject>(objectPath(r, ns, name));
  const lines: string[] = [`Name:        ${obj.metadata.name}`];
  if (r.namespaced) lines.push(`Namespace:   ${obj.metadata.namespace}`);
  lines.push(...mapLines('Labels:', obj.metadata.labels), ...mapLines('Annotations:', obj.metadata.annotations));
  lines.push(`API Version: ${obj.apiVersion}`, `Kind:        ${obj.kind}`);
  const { metadata, apiVersion: _a, kind: _k, ...rest } = obj;
  const meta = {
    creationTimestamp: metadata.creationTimestamp,
    generation: metadata.generation,
    resourceVersion: metadata.resourceVersion,
    uid: metadata.uid,
    ...(metadata.deletionTimestamp ? { deletionTimestamp: metadata.deletionTimestamp } : {}),
    ...(metadata.finalizers?.length ? { finalizers: metadata.finalizers } : {}),
  };
  lines.push('Metadata:');
  describeValue(meta, 2, lines);
  describeValue(rest, 0, lines);
  const events = await ctx.client
    .get<{ items: KubeEvent[] }>(`/api/v1/namespaces/${encodeURIComponent(obj.metadata.namespace ?? 'default')}/events`, {
      query: { fieldSelector: `involvedObject.name=${name},involvedObject.kind=${obj.kind},involvedObject.uid=${obj.metadata.uid}` },
    })
    .catch((): { items: KubeEvent[] } => ({ items: [] }));
  if (!events.items.length) lines.push('Events:      <none>');
  else {
    lines.push('Events:');
    const rows = events.items.map((ev) => {
      const age = ev.lastTimestamp ? humanDuration(now - Date.parse(ev.lastTimestamp)) : '';
      return [ev.type ?? '', ev.reason ?? '', ev.count && ev.count > 1 ? `${age} (x${ev.count})` : age, ev.source?.component ?? '', ev.message ?? ''];
    });
    out(lines.join('\n') + '\n');
    out(
      formatColumns(['Type', 'Reason', 'Age', 'From', 'Message'], rows)
        .split('\n')
        .map((l) => (l ? `  ${l}` : l))
        .join('\n'),
    );
    return 0;
  }
  out(lines.join('\n') + '\n');
  return 0;
}
