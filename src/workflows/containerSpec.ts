/**
 * Kubernetes container semantics over an image: `command` replaces the ENTRYPOINT and `args` the CMD (a command
 * without args drops the CMD), `$(VAR)` references expand from the environment, the image's Env comes first and the
 * container's wins, `workingDir` over the image's WorkingDir, `securityContext.runAsUser/runAsGroup` over its User.
 * Also: the registry credentials a Pipeline's `imagePullSecrets` name.
 */
import { errorMessage } from '../api/errors.ts';
import type { ImageLease, RegistryAuths } from './images/ImageCache.ts';
import { posix } from 'node:path';
import { ensureMountPoint, findExecutable, resolveInRoot, resolveUser } from './images/rootfs.ts';
import { OutputError } from './outputs.ts';
import type { Container } from './pipelineSpec.ts';
import type { StepRoot } from './StepRuntime.ts';
import type { StepLimits } from './runtime/cgroups.ts';
import { cpuMillis, memoryBytes, QuantityError } from '../api/quantity.ts';
import { mountsFor, type ConfigReader, type PreparedVolumes } from './volumes.ts';
import { cachedIn } from '../lib/cachedIn.ts';

export interface StepInImage {
  argv: string[];
  env: Record<string, string>;
  root?: StepRoot;
  mounts: { host: string; sandbox: string; readOnly: boolean }[];
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', '/bin/sh', '/bin/bash', '/bin/ash', '/usr/bin/bash', '/usr/bin/sh']);

/**
 * What a root holds does not change (it is content-addressed), so where a program lies and who a user is are looked
 * up once per root, not once per run.
 */
const facts = new Map<string, Map<string, unknown>>();
function memo<T>(rootfs: string, key: string, compute: () => T): T {
  const perRoot = cachedIn(facts, rootfs, 256, () => new Map<string, unknown>());
  if (perRoot.has(key)) return perRoot.get(key) as T;
  const value = compute();
  if (perRoot.size < 1024) perRoot.set(key, value);
  return value;
}

/** Expands `$(NAME)` from `env` as the kubelet does: `$$` escapes, unknown names stay as written. */
export function expandVars(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) =>
    whole === '$$' ? '$' : name !== undefined && env[name] !== undefined ? env[name] : whole,
  );
}

/**
 * How a container runs: in its image (`lease`) or, without one, as a host command. `env` is Kratix's environment and
 * the container's own (already resolved).
 */
/** Where in-cluster Kubernetes clients look for their account's token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The step's plan in its image. `serviceAccount` is a host folder with `token`, `ca.crt` and `namespace`, mounted
 * where in-cluster clients look (through the image's own links: /var/run is often a link to /run).
 */
export function stepInImage(
  container: Container,
  env: Record<string, string>,
  lease: ImageLease | undefined,
  volumes: PreparedVolumes,
  serviceAccount?: string,
): StepInImage {
  const mounts = mountsFor(container.volumeMounts ?? [], volumes, container.name);
  if (serviceAccount && lease) mounts.push({ host: serviceAccount, sandbox: mountPathInRoot(lease.rootfs, SERVICE_ACCOUNT_DIR), readOnly: true });
  if (!lease) {
    const argv = [...(container.command ?? []), ...(container.args ?? [])];
    if (!container.command?.length) throw new OutputError(`step ${container.name}: a host-tool pipeline step needs a command`);
    return { argv: argv.map((a) => expandVars(a, env)), env, mounts };
  }
  const image = lease.config;
  const fullEnv: Record<string, string> = {};
  for (const kv of image.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) fullEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  for (const [k, v] of Object.entries(env)) fullEnv[k] = expandVars(v, fullEnv);
  fullEnv.PATH ??= DEFAULT_PATH;
  const argv = (
    container.command?.length ? [...container.command, ...(container.args ?? [])] : [...(image.Entrypoint ?? []), ...(container.args ?? image.Cmd ?? [])]
  ).map((a) => expandVars(a, fullEnv));
  const program = argv[0];
  if (!program) throw new OutputError(`step ${container.name}: image ${lease.pull.image} has no ENTRYPOINT or CMD and the container gives no command`);
  const path = fullEnv.PATH;
  if (!memo(lease.rootfs, `exec\0${program}\0${path}`, () => findExecutable(lease.rootfs, program, path))) {
    const what = SHELLS.has(program)
      ? `has no shell (${program}): give the step a command the image has, or use an image with a shell`
      : `has no ${JSON.stringify(program)} (looked in ${program.includes('/') ? 'the image' : `PATH ${fullEnv.PATH}`})`;
    throw new OutputError(`image ${lease.pull.image} ${what}`);
  }
  let user: { uid: number; gid: number };
  try {
    user = memo(lease.rootfs, `user\0${image.User ?? ''}`, () => resolveUser(lease.rootfs, image.User));
  } catch (err) {
    throw new OutputError(`image ${lease.pull.image}: ${errorMessage(err)}`, { cause: err });
  }
  const uid = container.securityContext?.runAsUser ?? user.uid;
  const gid = container.securityContext?.runAsGroup ?? user.gid;
  try {
    for (const m of mounts) ensureMountPoint(lease.rootfs, m.sandbox, 'dir');
  } catch (err) {
    throw new OutputError(`step ${container.name}: ${errorMessage(err)}`, { cause: err });
  }
  return { argv, env: fullEnv, root: { path: lease.rootfs, uid, gid, workingDir: container.workingDir ?? (image.WorkingDir || '/') }, mounts };
}

/**
 * The registry credentials in a Pipeline's `imagePullSecrets`: `kubernetes.io/dockerconfigjson` Secrets
 * (`.dockerconfigjson`) and the older `kubernetes.io/dockercfg` (`.dockercfg`). A missing Secret is skipped, as the
 * kubelet does (the pull then fails with the registry's own answer).
 */
export async function pullSecretAuths(secrets: readonly { name: string }[], readConfig: ConfigReader | undefined): Promise<RegistryAuths> {
  const auths: RegistryAuths = {};
  for (const { name } of secrets) {
    const data = readConfig ? await readConfig('Secret', name) : undefined;
    if (!data) continue;
    try {
      if (data['.dockerconfigjson']) Object.assign(auths, (JSON.parse(data['.dockerconfigjson']) as { auths?: RegistryAuths }).auths ?? {});
      else if (data['.dockercfg']) Object.assign(auths, JSON.parse(data['.dockercfg']) as RegistryAuths);
    } catch (err) {
      throw new OutputError(`imagePullSecret ${name} is not valid JSON: ${errorMessage(err)}`, { cause: err });
    }
  }
  return auths;
}

/** `path` with its longest existing prefix resolved inside the root (links followed as the sandbox would). */
function mountPathInRoot(rootfs: string, path: string): string {
  const parts = path.split('/').filter(Boolean);
  for (let i = parts.length; i > 0; i--) {
    const resolved = resolveInRoot(rootfs, `/${parts.slice(0, i).join('/')}`);
    if (resolved !== undefined) return posix.join(resolved, ...parts.slice(i));
  }
  return path;
}

/** A container's `resources.limits` as the sandbox's limits; a quantity that does not parse fails the step, saying which. */
export function stepLimits(container: Container): StepLimits {
  const limits = container.resources?.limits ?? {};
  const out: StepLimits = {};
  try {
    if (limits.memory !== undefined) out.memoryBytes = memoryBytes(limits.memory);
    if (limits.cpu !== undefined) out.cpuMillis = cpuMillis(limits.cpu);
  } catch (err) {
    if (err instanceof QuantityError) throw new OutputError(`step ${container.name}: resources.limits: ${err.message}`, { cause: err });
    throw err;
  }
  return out;
}
