/** `fleetops get`: tables from the server's Table format, or YAML/JSON/names/custom columns; `--watch`. */
import { isKubeObject, type KubeObject } from '../../api/types.ts';
import { collectionPath, objectPath, type ApiResource } from '../../client/discovery.ts';
import type { CliContext } from '../context.ts';
import { parseCustomColumns, renderCustomColumns, renderJson, renderName, renderTable, renderYaml, isTableDoc, type TableDoc } from '../printers.ts';

export interface GetOptions {
  output?: string;
  allNamespaces?: boolean;
  selector?: string;
  watch?: boolean;
  noHeaders?: boolean;
  showLabels?: boolean;
}

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

/** Splits `type name...`, `type/name` and `a,b` forms into (resource name, object names) pairs. */
export function parseTargets(args: string[]): { type: string; names: string[] }[] {
  if (args.length === 0) throw new Error('you must specify the type of resource to get, e.g. "fleetops get promises"; "fleetops api-resources" lists them');
  if (args.every((a) => a.includes('/'))) {
    return args.map((a) => {
      const slash = a.indexOf('/');
      return { type: a.slice(0, slash), names: [a.slice(slash + 1)] };
    });
  }
  const [types = '', ...names] = args;
  return types.split(',').map((type) => ({ type, names }));
}

export async function getCommand(ctx: CliContext, args: string[], opts: GetOptions, out: (text: string) => void, signal?: AbortSignal): Promise<number> {
  const output = opts.output ?? '';
  const custom = output.startsWith('custom-columns=') ? parseCustomColumns(output.slice('custom-columns='.length)) : undefined;
  if (output && !custom && !['yaml', 'json', 'wide', 'name'].includes(output)) {
    throw new Error(`unable to match a printer suitable for the output format "${output}", allowed formats are: custom-columns,json,name,wide,yaml`);
  }
  const targets = parseTargets(args);
  const collected: KubeObject[] = [];
  for (const target of targets) {
    const r = await ctx.discovery.resolve(target.type);
    const ns = r.namespaced && !opts.allNamespaces ? ctx.namespace : undefined;
    const human = output === '' || output === 'wide';
    const query = { labelSelector: opts.selector };
    const tableOpts = {
      wide: output === 'wide',
      withNamespace: r.namespaced && !!opts.allNamespaces,
      noHeaders: !!opts.noHeaders,
      showLabels: !!opts.showLabels,
    };
    if (target.names.length) {
      for (const name of target.names) {
        if (human) out(renderTable(await ctx.client.get<TableDoc>(objectPath(r, ns, name), { accept: TABLE_ACCEPT }), tableOpts));
        else collected.push(await ctx.client.get<KubeObject>(objectPath(r, ns, name)));
      }
      if (!human && targets.length === 1) printObjects(collected, output, custom, r, !!opts.noHeaders, out, target.names.length === 1);
      continue;
    }
    if (human) {
      const table = await ctx.client.get<TableDoc & { metadata: { resourceVersion: string } }>(collectionPath(r, ns), { accept: TABLE_ACCEPT, query });
      if (table.rows.length === 0 && !opts.watch) out(`No resources found${ns ? ` in ${ns} namespace` : ''}.\n`);
      else out(renderTable(table, tableOpts));
      if (opts.watch) {
        const columns = table.columnDefinitions;
        await ctx.client.watch(
          collectionPath(r, ns),
          { ...query, resourceVersion: table.metadata.resourceVersion },
          (e) => {
            if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
            if (isTableDoc(e.object)) out(renderTable(e.object, { ...tableOpts, noHeaders: true }, columns));
          },
          signal,
          TABLE_ACCEPT,
        );
      }
      continue;
    }
    const list = await ctx.client.get<{ items: KubeObject[]; metadata: { resourceVersion: string } }>(collectionPath(r, ns), { query });
    collected.push(...list.items);
    if (opts.watch) {
      printObjects(list.items, output, custom, r, !!opts.noHeaders, out, false);
      await ctx.client.watch(
        collectionPath(r, ns),
        { ...query, resourceVersion: list.metadata.resourceVersion },
        (e) => {
          if (e.type === 'BOOKMARK' || e.type === 'ERROR') return;
          if (isKubeObject(e.object)) printObjects([e.object], output, custom, r, true, out, true);
        },
        signal,
      );
      return 0;
    }
    if (targets.length === 1) printObjects(collected, output, custom, r, !!opts.noHeaders, out, false);
  }
  if (targets.length > 1 && collected.length) printObjects(collected, output, custom, { plural: '', group: '' }, !!opts.noHeaders, out, false);
  return 0;
}

function printObjects(
  items: KubeObject[],
  output: string,
  custom: { header: string; path: string }[] | undefined,
  r: Pick<ApiResource, 'plural' | 'group'>,
  noHeaders: boolean,
  out: (text: string) => void,
  single: boolean,
): void {
  if (custom) out(renderCustomColumns(items, custom, noHeaders));
  else if (output === 'name') out(renderName(items));
  else {
    const value = single && items.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
    out(output === 'json' ? renderJson(value) : renderYaml(value));
  }
}
