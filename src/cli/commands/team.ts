/**
 * `fleetops team add|list|remove`: an application team as Kubernetes objects — its namespace, a ServiceAccount with
 * a long-lived token Secret, and RoleBindings: `edit` (every Promise), `view` (--read-only), or `view` plus each
 * named Promise's edit role (--promises), or only /metrics (--monitoring, a Prometheus scraper). `add` writes a kubeconfig for the team; running it again changes access.
 */
import { writeFileSync } from 'node:fs';
import { isApiError } from '../../api/errors.ts';
import { RBAC_API, RBAC_GROUP } from '../../api/rbac.ts';
import type { KubeObject, StoredObject } from '../../api/types.ts';
import type { Secret } from '../../registry/builtin/coreKinds.ts';
import type { RoleBinding } from '../../registry/builtin/rbacKinds.ts';
import { validateDns1123Label } from '../../api/validation.ts';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import type { CliContext } from '../context.ts';
import { humanDuration } from '../../api/duration.ts';
import { formatColumns } from '../printers.ts';

export const LABEL_TEAM = 'fleetops.dev/team';
const MANAGER = 'fleetops-team';

export interface TeamAddOptions {
  namespace?: string;
  promises?: string[];
  readOnly?: boolean;
  /** A scraper's identity: it may read /metrics (ClusterRole system:monitoring) and nothing else. */
  monitoring?: boolean;
  /** Where to write the kubeconfig; `-` prints it. Default `./<team>.kubeconfig`. */
  kubeconfigOut?: string;
  timeoutSeconds?: number;
}

const nsPath = (ns: string): string => `/api/v1/namespaces/${ns}`;
const rbPath = (ns: string, name?: string): string => `/apis/${RBAC_API}/namespaces/${ns}/rolebindings${name ? `/${encodeURIComponent(name)}` : ''}`;
const crbPath = (name: string): string => `/apis/${RBAC_API}/clusterrolebindings/${encodeURIComponent(name)}`;
/** The ClusterRoleBinding that lets a monitoring team read /metrics. */
const monitoringBindingName = (team: string, ns: string): string => `fleetops:team:${ns}:${team}:monitoring`;

async function apply(ctx: CliContext, path: string, object: KubeObject): Promise<StoredObject> {
  const r = await ctx.client.request<StoredObject>('PATCH', path, {
    body: object,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: MANAGER, force: true },
  });
  return r.body;
}

async function findObject(ctx: CliContext, path: string): Promise<StoredObject | undefined> {
  try {
    return await ctx.client.get<StoredObject>(path);
  } catch (err) {
    if (isApiError(err, 'NotFound')) return undefined;
    throw err;
  }
}

async function remove(ctx: CliContext, path: string): Promise<void> {
  try {
    await ctx.client.request('DELETE', path);
  } catch (err) {
    if (!isApiError(err, 'NotFound')) throw err;
  }
}

function binding(team: string, ns: string, name: string, clusterRole: string): KubeObject {
  return {
    apiVersion: RBAC_API,
    kind: 'RoleBinding',
    metadata: { name, namespace: ns, labels: { [LABEL_TEAM]: team } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: clusterRole },
    subjects: [{ kind: 'ServiceAccount', name: team, namespace: ns }],
  };
}

/** The bindings a team's access asks for. */
export function teamBindings(team: string, ns: string, opts: Pick<TeamAddOptions, 'promises' | 'readOnly' | 'monitoring'>): KubeObject[] {
  if (opts.monitoring) return [];
  if (opts.readOnly) return [binding(team, ns, 'fleetops:team', 'view')];
  if (!opts.promises?.length) return [binding(team, ns, 'fleetops:team', 'edit')];
  return [
    binding(team, ns, 'fleetops:team', 'view'),
    ...opts.promises.map((p) => binding(team, ns, `fleetops:team:promise:${p}`, `fleetops:promise:${p}:edit`)),
  ];
}

export async function teamAddCommand(ctx: CliContext, team: string, opts: TeamAddOptions, out: (line: string) => void): Promise<number> {
  const ns = opts.namespace ?? team;
  for (const [what, value] of [
    ['team name', team],
    ['namespace', ns],
  ]) {
    const problem = validateDns1123Label(value ?? '');
    if (problem) throw new Error(`${what} "${value}" ${problem}`);
  }
  if (opts.readOnly && opts.promises?.length) throw new Error('--read-only and --promises do not go together: a read-only team requests nothing');
  if (opts.monitoring && (opts.readOnly || opts.promises?.length))
    throw new Error('--monitoring stands alone: a scraper reads /metrics and nothing else (add a separate team for requests)');
  for (const p of opts.promises ?? []) {
    if (!(await findObject(ctx, `/apis/platform.kratix.io/v1alpha1/promises/${p}`))) {
      throw new Error(`Promise "${p}" not found: "fleetops get promises" lists the Promises`);
    }
  }
  const labels = { [LABEL_TEAM]: team };
  await apply(ctx, nsPath(ns), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } });
  await apply(ctx, `${nsPath(ns)}/serviceaccounts/${team}`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: team, namespace: ns, labels } });
  const secretName = `${team}-token`;
  await apply(ctx, `${nsPath(ns)}/secrets/${secretName}`, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: secretName, namespace: ns, labels, annotations: { 'kubernetes.io/service-account.name': team } },
  });
  const wanted = teamBindings(team, ns, opts);
  const existing = (await ctx.client.get<{ items: StoredObject[] }>(rbPath(ns), { query: { labelSelector: `${LABEL_TEAM}=${team}` } })).items;
  for (const old of existing) {
    const next = wanted.find((w) => w.metadata.name === old.metadata.name);
    // A binding's role cannot change: one that must point elsewhere is replaced.
    if (!next || JSON.stringify(next.roleRef) !== JSON.stringify(old.roleRef)) await remove(ctx, rbPath(ns, old.metadata.name));
  }
  for (const b of wanted) await apply(ctx, rbPath(ns, b.metadata.name), b);
  const monitoringBinding = monitoringBindingName(team, ns);
  if (opts.monitoring)
    await apply(ctx, crbPath(monitoringBinding), {
      apiVersion: RBAC_API,
      kind: 'ClusterRoleBinding',
      metadata: { name: monitoringBinding, labels },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'system:monitoring' },
      subjects: [{ kind: 'ServiceAccount', name: team, namespace: ns }],
    });
  else await remove(ctx, crbPath(monitoringBinding));

  const deadline = Date.now() + (opts.timeoutSeconds ?? 30) * 1000;
  let token = '';
  while (!token) {
    const secret = await ctx.client.get<Secret>(`${nsPath(ns)}/secrets/${secretName}`);
    token = Buffer.from(secret.data?.token ?? '', 'base64').toString();
    if (token) break;
    if (Date.now() > deadline)
      throw new Error(`the token of team "${team}" was not issued within ${opts.timeoutSeconds ?? 30}s: is FleetOps running its controllers?`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const kubeconfig = kubeconfigYaml(ctx.client.config.server, ctx.client.config.caCert ?? '', token, team, team, ns);
  const access = opts.monitoring
    ? 'monitoring (reads /metrics only)'
    : opts.readOnly
      ? 'read-only (view)'
      : opts.promises?.length
        ? `request ${opts.promises.join(', ')} (and view)`
        : 'request every Promise (edit)';
  if (opts.kubeconfigOut === '-') {
    out(kubeconfig);
    return 0;
  }
  const file = opts.kubeconfigOut ?? `${team}.kubeconfig`;
  writeFileSync(file, kubeconfig, { mode: 0o600 });
  out(`team "${team}" ready: namespace ${ns}, ${access}`);
  out(`kubeconfig written to ${file}; try: KUBECONFIG=${file} kubectl auth can-i --list`);
  return 0;
}

export async function teamListCommand(ctx: CliContext, out: (line: string) => void): Promise<number> {
  const namespaces = (await ctx.client.get<{ items: StoredObject[] }>('/api/v1/namespaces', { query: { labelSelector: LABEL_TEAM } })).items;
  if (!namespaces.length) {
    out('No teams: add one with "fleetops team add NAME"');
    return 0;
  }
  const rows: string[][] = [];
  for (const ns of namespaces) {
    const team = ns.metadata.labels?.[LABEL_TEAM] ?? '';
    const bindings = (await ctx.client.get<{ items: RoleBinding[] }>(rbPath(ns.metadata.name), { query: { labelSelector: `${LABEL_TEAM}=${team}` } })).items;
    const roles = bindings.map((b) => b.roleRef.name);
    const promises = roles.filter((r) => r.startsWith('fleetops:promise:')).map((r) => r.split(':')[2]);
    const monitoring = await findObject(ctx, crbPath(monitoringBindingName(team, ns.metadata.name)));
    const access = monitoring
      ? 'monitoring'
      : roles.includes('edit')
        ? 'edit'
        : promises.length
          ? `promises: ${promises.join(',')}`
          : roles.includes('view')
            ? 'view'
            : '<none>';
    rows.push([team, ns.metadata.name, access, humanDuration(Date.now() - Date.parse(String(ns.metadata.creationTimestamp)))]);
  }
  out(formatColumns(['NAME', 'NAMESPACE', 'ACCESS', 'AGE'], rows));
  return 0;
}

export async function teamRemoveCommand(
  ctx: CliContext,
  team: string,
  opts: { namespace?: string; deleteNamespace?: boolean },
  out: (line: string) => void,
): Promise<number> {
  const ns = opts.namespace ?? team;
  const namespace = await findObject(ctx, nsPath(ns));
  if (namespace?.metadata.labels?.[LABEL_TEAM] !== team) throw new Error(`team "${team}" not found in namespace "${ns}": "fleetops team list" lists the teams`);
  const bindings = (await ctx.client.get<{ items: StoredObject[] }>(rbPath(ns), { query: { labelSelector: `${LABEL_TEAM}=${team}` } })).items;
  for (const b of bindings) await remove(ctx, rbPath(ns, b.metadata.name));
  await remove(ctx, crbPath(monitoringBindingName(team, ns)));
  // Deleting the account and its Secret revokes every token issued to the team.
  await remove(ctx, `${nsPath(ns)}/secrets/${team}-token`);
  await remove(ctx, `${nsPath(ns)}/serviceaccounts/${team}`);
  if (opts.deleteNamespace) {
    await remove(ctx, nsPath(ns));
    out(`team "${team}" removed with its namespace ${ns} and everything in it`);
  } else {
    out(`team "${team}" removed: its tokens no longer work; namespace ${ns} kept with its resources (--delete-namespace removes it)`);
  }
  return 0;
}
