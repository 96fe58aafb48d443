/** `fleetops apply -f`: server-side apply of every document, Namespaces and Promises first. */
import { isApiError, errorMessage } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import { objectPath, type ApiResource } from '../../client/discovery.ts';
import type { CliContext } from '../context.ts';
import { readManifests, type Manifest } from '../manifests.ts';

export interface ApplyOptions {
  filename: string[];
  dryRun?: string;
  forceConflicts?: boolean;
  /** How long to wait for a kind a Promise in the same apply is about to serve. */
  kindWaitMs?: number;
}

const ORDER = ['Namespace', 'Secret', 'ConfigMap', 'GitStateStore', 'BucketStateStore', 'Destination', 'Promise'];

function rank(m: Manifest): number {
  const i = ORDER.indexOf(m.object.kind);
  return i < 0 ? ORDER.length : i;
}

async function resolveWithWait(ctx: CliContext, obj: KubeObject, waitMs: number): Promise<ApiResource> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await ctx.discovery.forKind(obj.apiVersion, obj.kind);
    } catch (err) {
      if (!isApiError(err, 'NotFound') || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Results go to `out`, failures (one line each, naming the file) to `errOut`, as kubectl does. */
export async function applyCommand(
  ctx: CliContext,
  opts: ApplyOptions,
  out: (line: string) => void,
  stdin: () => string,
  errOut: (line: string) => void = out,
): Promise<number> {
  if (!opts.filename.length) throw new Error('must specify -f FILENAME (a file, a folder or - for stdin)');
  const manifests = readManifests(opts.filename, stdin).map((m, i) => ({ m, i }));
  manifests.sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i);
  let failures = 0;
  for (const { m } of manifests) {
    const obj = m.object;
    try {
      const r = await resolveWithWait(ctx, obj, opts.kindWaitMs ?? 15_000);
      const ns = r.namespaced ? (obj.metadata.namespace ?? ctx.namespace) : undefined;
      const path = objectPath(r, ns, obj.metadata.name ?? '');
      const before = await ctx.client.get<KubeObject>(path).catch((err: unknown) => {
        if (isApiError(err, 'NotFound')) return undefined;
        throw err;
      });
      const res = await ctx.client.request<KubeObject>('PATCH', path, {
        rawBody: JSON.stringify(obj),
        contentType: 'application/apply-patch+yaml',
        query: {
          fieldManager: 'fleetops',
          fieldValidation: 'Strict',
          force: opts.forceConflicts ? 'true' : 'false',
          dryRun: opts.dryRun === 'server' ? 'All' : undefined,
        },
      });
      for (const w of res.warnings) out(`Warning: ${w}`);
      const verb = !before ? 'created' : before.metadata.resourceVersion === res.body.metadata.resourceVersion ? 'unchanged' : 'configured';
      const kind = r.group ? `${r.singular}.${r.group}` : r.singular;
      out(`${kind}/${obj.metadata.name} ${verb}${opts.dryRun === 'server' ? ' (server dry run)' : ''}`);
    } catch (err) {
      failures++;
      const msg = isApiError(err) ? `Error from server (${err.reason}): ${err.message}` : `error: ${errorMessage(err)}`;
      errOut(`${msg} (${m.source})`);
    }
  }
  return failures ? 1 : 0;
}
