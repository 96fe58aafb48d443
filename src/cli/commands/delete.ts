/** `fleetops delete`: by type and names, or by -f; waits until finalizers let the objects go. */
import { isApiError, errorMessage } from '../../api/errors.ts';
import { objectPath, type ApiResource } from '../../client/discovery.ts';
import type { CliContext } from '../context.ts';
import { readManifests } from '../manifests.ts';
import { parseTargets } from './get.ts';

export interface DeleteOptions {
  filename?: string[];
  wait?: boolean;
  timeoutSeconds?: number;
  ignoreNotFound?: boolean;
}

async function waitGone(ctx: CliContext, path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await ctx.client.get(path);
    } catch (err) {
      if (isApiError(err, 'NotFound')) return true;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

export async function deleteCommand(
  ctx: CliContext,
  args: string[],
  opts: DeleteOptions,
  out: (line: string) => void,
  stdin: () => string,
  errOut: (line: string) => void = out,
): Promise<number> {
  const targets: { r: ApiResource; ns: string | undefined; name: string }[] = [];
  if (opts.filename?.length) {
    for (const m of readManifests(opts.filename, stdin)) {
      const r = await ctx.discovery.forKind(m.object.apiVersion, m.object.kind);
      targets.push({ r, ns: r.namespaced ? (m.object.metadata.namespace ?? ctx.namespace) : undefined, name: m.object.metadata.name ?? '' });
    }
  } else {
    for (const t of parseTargets(args)) {
      if (!t.names.length) throw new Error('resource(s) were provided, but no name was specified: "fleetops delete <type> <name>"');
      const r = await ctx.discovery.resolve(t.type);
      for (const name of t.names) targets.push({ r, ns: r.namespaced ? ctx.namespace : undefined, name });
    }
  }
  let failures = 0;
  for (const { r, ns, name } of targets) {
    const label = `${r.group ? `${r.singular}.${r.group}` : r.singular} "${name}"`;
    const path = objectPath(r, ns, name);
    try {
      await ctx.client.request('DELETE', path, { body: { propagationPolicy: 'Background' } });
      if (opts.wait !== false && !(await waitGone(ctx, path, (opts.timeoutSeconds ?? 120) * 1000))) {
        errOut(`error: timed out waiting for ${label} to be deleted (finalizers still pending)`);
        failures++;
        continue;
      }
      out(`${label} deleted`);
    } catch (err) {
      if (opts.ignoreNotFound && isApiError(err, 'NotFound')) continue;
      failures++;
      errOut(isApiError(err) ? `Error from server (${err.reason}): ${err.message}` : `error: ${errorMessage(err)}`);
    }
  }
  return failures ? 1 : 0;
}
