#!/usr/bin/env node
/** The `fleetops` command. Each subcommand lives in commands/; this file only parses flags and reports errors. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { isApiError, errorMessage } from '../api/errors.ts';
import type { SERVER_VERSION } from '../apiserver/discovery.ts';
import { formatColumns } from './printers.ts';
import type { CliContext, GlobalOptions } from './context.ts';
import type { ImageBuildOptions } from './commands/image.ts';

const VERSION = '0.1.0';
const stdout = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const stderr = (text: string): void => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
const readStdin = (): string => readFileSync(0, 'utf8');

/** One line, with the fix where we know it. */
export function errorLine(err: unknown): string {
  if (isApiError(err)) {
    if (err.code === 401) return 'error: You must be logged in to the server (Unauthorized): check the token in your kubeconfig';
    return `Error from server (${err.reason}): ${err.message}`;
  }
  return `error: ${errorMessage(err) ?? String(err)}`;
}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

async function withContext(cmd: Command, fn: (ctx: CliContext) => Promise<number>): Promise<void> {
  const { openContext } = await import('./context.ts');
  const ctx = openContext(globals(cmd));
  try {
    process.exitCode = await fn(ctx);
  } finally {
    ctx.close();
  }
}

/** An option's value as a whole number of at least 1; otherwise commander's error, with an example of the fix. */
function wholeNumberAtLeastOne(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`it must be a whole number of at least 1 (e.g. ${option} 8)`);
  return n;
}

export function buildProgram(): Command {
  const program = new Command('fleetops')
    .description('FleetOps: Promises, resources and fleet-wide rollouts, with a Kubernetes-compatible API')
    .version(VERSION, '--client-version')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.fleetops/kubeconfig)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('-n, --namespace <ns>', "namespace (default: the context's)")
    .showHelpAfterError('(run "fleetops help" for usage)');

  program
    .command('up')
    .description('start FleetOps with its embedded defaults and write a kubeconfig (context "platform")')
    .option('--data-dir <dir>', 'where state lives (default: $FLEETOPS_HOME or ~/.fleetops)')
    .option('--port <port>', 'API port', '6443')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option(
      '--registries-conf <file>',
      'registries.conf for pipeline images: mirrors, rewrites, insecure registries (default: <data dir>/registries.conf if present)',
    )
    .option('--registry-ca <file>', 'PEM CA certificates trusted for registries (default: <data dir>/registry-ca.pem if present)')
    .option(
      '--store <url>',
      'postgres://user:password@host:port/database: keep objects in PostgreSQL, shared by several replicas (default: $FLEETOPS_STORE, else the embedded store in the data directory)',
    )
    .addOption(
      new Option('--role <role>', 'with --store: all (default), api (no pipeline steps) or worker (pipeline steps only, never the controllers)').choices([
        'all',
        'api',
        'worker',
      ]),
    )
    .addOption(
      new Option('--step-concurrency <n>', 'pipeline steps that run at once, each in its sandbox (default: 4 per core)').argParser((value) =>
        wholeNumberAtLeastOne(value, '--step-concurrency'),
      ),
    )
    .option('--fresh', "start even though the data directory's database is missing or empty (an empty platform)")
    .addOption(
      new Option('--log-format <format>', 'readable lines (text, the default on a terminal) or JSON lines (json, the default otherwise)').choices([
        'text',
        'json',
      ]),
    )
    .action(
      async (opts: {
        dataDir?: string;
        port: string;
        host: string;
        registriesConf?: string;
        registryCa?: string;
        fresh?: boolean;
        logFormat?: string;
        store?: string;
        role?: 'all' | 'api' | 'worker';
        stepConcurrency?: number;
      }) => {
        // Ctrl-C or SIGTERM is taken from the start: one that comes while FleetOps starts stops it as soon as it is up
        // (its step cgroups removed, its store closed), rather than killing the process half-way.
        const stopAsked = new Promise<void>((resolve) => {
          const stop = (): void => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        const { startFleetOps, traceLogFields } = await import('../main.ts');
        const format = opts.logFormat ?? (process.stdout.isTTY ? 'text' : 'json');
        const { pino } = await import('pino');
        const level = process.env.FLEETOPS_LOG_LEVEL ?? 'info';
        const logger =
          format === 'text'
            ? pino({ level, mixin: traceLogFields }, (await import('../lib/readableLog.ts')).readableDestination(process.stdout))
            : pino({ level, mixin: traceLogFields });
        const images = {
          ...(opts.registriesConf ? { registriesConf: resolve(opts.registriesConf) } : {}),
          ...(opts.registryCa ? { caBundle: resolve(opts.registryCa) } : {}),
        };
        const fleet = await startFleetOps({
          ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
          port: Number(opts.port),
          host: opts.host,
          images,
          logger,
          ...(opts.fresh ? { fresh: true } : {}),
          ...(opts.store ? { store: opts.store } : {}),
          ...(opts.role ? { role: opts.role } : {}),
          ...(opts.stepConcurrency !== undefined ? { workflowConcurrency: opts.stepConcurrency } : {}),
        });
        stdout(
          [
            'FleetOps is up.',
            `  API:          ${fleet.url}`,
            `  portal:       ${fleet.url}/portal/ (sign in with a token: the admin's is in the kubeconfig; teams get theirs from "fleetops team add")`,
            `  kubeconfig:   ${fleet.kubeconfigPath} (context "platform")`,
            `  state store:  ${fleet.embeddedGit.cloneUrl} (Git over HTTPS; user any, password a FleetOps token)`,
            '  destinations: platform (environment=platform), worker-1 (environment=worker)',
            '',
            `  export KUBECONFIG=${fleet.kubeconfigPath}`,
            "  npx fleetops image build examples/app-as-a-service/pipeline   # the example's pipeline image",
            '  kubectl apply -f examples/app-as-a-service/promise.yaml',
            '  kubectl get promises',
            '  npx fleetops team add team-a                                   # a team: its namespace, access and kubeconfig',
            '',
            "  # clone the state store (what GitOps agents read), with the API server's certificate; the token is given by a",
            "  # credential helper for this command only, so it is not written into the clone's .git/config:",
            "  export FLEETOPS_TOKEN=$(kubectl config view --raw -o jsonpath='{.users[0].user.token}')",
            `  GIT_SSL_CAINFO=${join(fleet.dataDir, 'apiserver.crt')} git -c credential.helper='!f() { echo username=fleetops; echo "password=$FLEETOPS_TOKEN"; }; f' clone ${fleet.embeddedGit.cloneUrl}`,
            '',
            'FleetOps keeps running in the foreground; stop it with Ctrl-C. Its log follows.',
          ].join('\n'),
        );
        await stopAsked;
        await fleet.stop();
      },
    );

  program
    .command('status')
    .description('the replicas serving this platform, which one runs the controllers, and which have stopped')
    .action(async (_opts: unknown, cmd: Command) => {
      const { statusCommand } = await import('./commands/status.ts');
      await withContext(cmd, (ctx) => statusCommand(ctx, stdout));
    });

  const storeCmd = program.command('store').description('the store that keeps every object: copy a platform between stores');
  storeCmd
    .command('copy')
    .description('copy every object from a data directory or PostgreSQL database to an empty one (FleetOps stopped on both)')
    .requiredOption('--from <location>', 'a data directory (its embedded store) or postgres://user:password@host:port/database')
    .requiredOption('--to <location>', 'an empty data directory or PostgreSQL database')
    .action(async (opts: { from: string; to: string }) => {
      const { copyStore } = await import('../storeCopy.ts');
      const tty = process.stderr.isTTY;
      const result = await copyStore(opts.from, opts.to, (n) => {
        if (tty) process.stderr.write(`\rcopied ${n} objects`);
      });
      if (tty) process.stderr.write('\n');
      stdout(
        `copied ${result.copied} objects from ${result.from} to ${result.to}; start FleetOps on it with the same data directory (tokens, keys, certificate)`,
      );
    });

  program
    .command('migrate')
    .description("apply the PostgreSQL store's pending schema migrations (FleetOps also applies them at start)")
    .option('--store <url>', 'postgres://user:password@host:port/database (default: $FLEETOPS_STORE)')
    .action(async (opts: { store?: string }) => {
      const url = opts.store ?? process.env.FLEETOPS_STORE;
      if (!url) throw new Error('no store given: pass --store postgres://user:password@host:port/database (or set FLEETOPS_STORE)');
      const { migrateStore } = await import('../storeCopy.ts');
      stdout(`schema at version ${await migrateStore(url)}`);
    });

  program
    .command('apply')
    .description('create or update objects from files, folders or stdin (server-side apply)')
    .requiredOption('-f, --filename <path...>', 'file, folder or - for stdin')
    .addOption(new Option('--dry-run <mode>', 'only check what would happen').choices(['server', 'none']))
    .option('--force-conflicts', 'take over fields owned by other managers')
    .action(async (opts: { filename: string[]; dryRun?: string; forceConflicts?: boolean }, cmd: Command) => {
      const { applyCommand } = await import('./commands/apply.ts');
      await withContext(cmd, (ctx) => applyCommand(ctx, opts, stdout, readStdin, stderr));
    });

  program
    .command('get')
    .description('list or show objects: fleetops get <type> [name...]')
    .argument('<target...>', 'type and names, or type/name')
    .option('-o, --output <format>', 'yaml|json|wide|name|custom-columns=HEADER:.path,...')
    .option('-A, --all-namespaces', 'across all namespaces')
    .option('-l, --selector <selector>', 'label selector')
    .option('-w, --watch', 'keep printing changes')
    .option('--no-headers', 'omit table headers')
    .option('--show-labels', 'add a LABELS column')
    .action(
      async (
        targets: string[],
        opts: { output?: string; allNamespaces?: boolean; selector?: string; watch?: boolean; headers?: boolean; showLabels?: boolean },
        cmd: Command,
      ) => {
        const { getCommand } = await import('./commands/get.ts');
        await withContext(cmd, (ctx) => getCommand(ctx, targets, { ...opts, noHeaders: opts.headers === false }, stdout));
      },
    );

  program
    .command('describe')
    .description('show an object in detail, with its events')
    .argument('<type>')
    .argument('<name>')
    .action(async (type: string, name: string, _opts: unknown, cmd: Command) => {
      const { describeCommand } = await import('./commands/describe.ts');
      await withContext(cmd, (ctx) => describeCommand(ctx, type, name, stdout));
    });

  program
    .command('delete')
    .description('delete objects by type and name, or from files')
    .argument('[target...]')
    .option('-f, --filename <path...>', 'file, folder or - for stdin')
    .option('--wait <bool>', 'wait until finalizers finish', 'true')
    .option('--timeout <seconds>', 'how long to wait', '120')
    .option('--ignore-not-found', 'treat missing objects as deleted')
    .action(async (targets: string[], opts: { filename?: string[]; wait: string; timeout: string; ignoreNotFound?: boolean }, cmd: Command) => {
      const { deleteCommand } = await import('./commands/delete.ts');
      await withContext(cmd, (ctx) =>
        deleteCommand(
          ctx,
          targets,
          {
            ...(opts.filename ? { filename: opts.filename } : {}),
            wait: opts.wait !== 'false',
            timeoutSeconds: Number(opts.timeout),
            ignoreNotFound: !!opts.ignoreNotFound,
          },
          stdout,
          readStdin,
          stderr,
        ),
      );
    });

  program
    .command('logs')
    .description('show the logs of the latest workflow run of an object: fleetops logs app/todoer')
    .argument('<target>', '<kind>/<name>: a resource, promise/<name>, or workflowrun/<name>')
    .option('-f, --follow', 'wait for the run in progress and print each step as it finishes')
    .option('--pipeline <name>', 'only runs of this pipeline')
    .action(async (target: string, opts: { follow?: boolean; pipeline?: string }, cmd: Command) => {
      const { logsCommand } = await import('./commands/logs.ts');
      await withContext(cmd, (ctx) => logsCommand(ctx, target, opts, stdout));
    });

  const image = program.command('image').description('pipeline step images: build without Docker, list the cache');
  image
    .command('build')
    .description('build a step folder into an OCI image (its image.yaml gives defaults): into the local image cache, or --push to a registry')
    .argument('<dir>', 'the step folder: its files go to /pipeline, its rootfs/ folder to /')
    .option('-t, --tag <image>', 'image reference, e.g. fleetops.local/team/step:v1 or registry.example.com/team/step:v1')
    .addOption(
      new Option('--base <base>', 'busybox (shell steps), node (TypeScript steps, with the step SDK) or scratch').choices(['busybox', 'node', 'scratch']),
    )
    .option('--entrypoint <json>', 'ENTRYPOINT, a JSON array of strings')
    .option('--cmd <json>', 'CMD, a JSON array of strings')
    .option('--push', 'push to the registry the tag names instead of the local cache')
    .option('--authfile <file>', 'with --push: registry credentials (a Docker config.json / containers auth.json)')
    .option('--registries-conf <file>', 'with --push: a registries.conf (e.g. to allow a plain-HTTP registry)')
    .option('--data-dir <dir>', 'the FleetOps data directory whose cache gets the image (default: $FLEETOPS_HOME or ~/.fleetops)')
    .action(async (dir: string, opts: Omit<ImageBuildOptions, 'dataDir' | 'installDir'> & { dataDir?: string }) => {
      const { imageBuildCommand } = await import('./commands/image.ts');
      const { INSTALL_DIR, defaultDataDir } = await import('../lib/installation.ts');
      process.exitCode = await imageBuildCommand(
        dir,
        { ...opts, dataDir: opts.dataDir ? resolve(opts.dataDir) : defaultDataDir(), installDir: INSTALL_DIR },
        stdout,
        (l) => process.stderr.write(`${l}\n`),
      );
    });
  image
    .command('list')
    .description('images in the local cache: references, digests, sizes, last use')
    .option('--data-dir <dir>', 'the FleetOps data directory (default: $FLEETOPS_HOME or ~/.fleetops)')
    .action(async (opts: { dataDir?: string }) => {
      const { imageListCommand } = await import('./commands/image.ts');
      const { defaultDataDir } = await import('../lib/installation.ts');
      process.exitCode = imageListCommand(opts.dataDir ? resolve(opts.dataDir) : defaultDataDir(), stdout);
    });

  const team = program.command('team').description('application teams: a namespace, a token and what the team may request');
  team
    .command('add')
    .description('create (or change) a team: namespace, service account, role bindings; writes its kubeconfig')
    .argument('<name>', 'team name (a DNS label)')
    .option('--namespace <ns>', "the team's namespace (default: the team name)")
    .option('--promises <names>', 'only these Promises may be requested (comma-separated); default: every Promise')
    .option('--read-only', 'the team may see its resources but request nothing')
    .option('--monitoring', 'a Prometheus scraper: the token may read /metrics and nothing else')
    .option('-o, --kubeconfig-out <file>', "where to write the team's kubeconfig; - prints it (default: ./<name>.kubeconfig)")
    .action(
      async (name: string, opts: { namespace?: string; promises?: string; readOnly?: boolean; monitoring?: boolean; kubeconfigOut?: string }, cmd: Command) => {
        const { teamAddCommand } = await import('./commands/team.ts');
        const promises = opts.promises
          ?.split(',')
          .map((p) => p.trim())
          .filter(Boolean);
        await withContext(cmd, (ctx) =>
          teamAddCommand(
            ctx,
            name,
            {
              ...(opts.namespace ? { namespace: opts.namespace } : {}),
              ...(promises ? { promises } : {}),
              ...(opts.readOnly ? { readOnly: true } : {}),
              ...(opts.monitoring ? { monitoring: true } : {}),
              ...(opts.kubeconfigOut ? { kubeconfigOut: opts.kubeconfigOut } : {}),
            },
            stdout,
          ),
        );
      },
    );
  team
    .command('list')
    .description('teams with their namespace and access')
    .action(async (_opts: unknown, cmd: Command) => {
      const { teamListCommand } = await import('./commands/team.ts');
      await withContext(cmd, (ctx) => teamListCommand(ctx, stdout));
    });
  team
    .command('remove')
    .description("revoke a team's access (its tokens stop working); the namespace stays unless --delete-namespace")
    .argument('<name>')
    .option('--namespace <ns>', "the team's namespace (default: the team name)")
    .option('--delete-namespace', 'also delete the namespace and every resource in it')
    .action(async (name: string, opts: { namespace?: string; deleteNamespace?: boolean }, cmd: Command) => {
      const { teamRemoveCommand } = await import('./commands/team.ts');
      await withContext(cmd, (ctx) => teamRemoveCommand(ctx, name, opts, stdout));
    });

  const promise = program.command('promise').description('work on Promises');
  promise
    .command('test')
    .description("run a Promise's resource workflows against its test cases (test/<case>/input.yaml → expected outputs), locally, no server")
    .argument('[dir]', "the Promise's folder (with promise.yaml) or its file", '.')
    .option('--update', "write what the workflows write as the cases' new expectations")
    .option('--junit <file>', 'also write a JUnit XML report (for CI)')
    .option('--run <text>', 'only the cases whose name contains this')
    .option('--data-dir <dir>', 'where the image cache is (default: $FLEETOPS_HOME or ~/.fleetops)')
    .action(async (dir: string, opts: { update?: boolean; junit?: string; run?: string; dataDir?: string }) => {
      const { promiseTestCommand } = await import('./commands/promiseTest.ts');
      const { defaultDataDir } = await import('../lib/installation.ts');
      process.exitCode = await promiseTestCommand(
        dir,
        {
          dataDir: resolve(opts.dataDir ?? defaultDataDir()),
          ...(opts.update ? { update: true } : {}),
          ...(opts.junit ? { junit: opts.junit } : {}),
          ...(opts.run ? { run: opts.run } : {}),
        },
        stdout,
      );
    });
  promise
    .command('init')
    .description('scaffold a Promise folder: promise.yaml, a TypeScript pipeline step, an example request')
    .argument('<name>', 'Promise name, e.g. postgresql')
    .requiredOption('--group <group>', 'API group of the kind, e.g. marketplace.example.com')
    .requiredOption('--kind <kind>', 'kind application teams request, e.g. Database')
    .option('--version <version>', 'API version', 'v1alpha1')
    .option('--plural <plural>', 'plural name (default: lowercase kind + s)')
    .option('--property <field...>', 'API field(s) of spec as name:type[:required], type string|integer|number|boolean', [])
    .option('--dir <dir>', 'parent folder', '.')
    .action(async (name: string, opts: { group: string; kind: string; version: string; plural?: string; property: string[]; dir: string }) => {
      const { promiseInitCommand } = await import('./commands/promiseInit.ts');
      process.exitCode = promiseInitCommand(name, opts, stdout);
    });
  const dirOption = ['--dir <dir>', "the Promise's folder (with promise.yaml) or its file", '.'] as const;
  promise
    .command('add')
    .description('add to a Promise')
    .command('container')
    .description('a container (step) in a workflow pipeline, made if missing, and a step folder to build its image from')
    .argument('<target>', '<resource|promise>/<configure|delete>/<pipeline>, e.g. resource/configure/instance')
    .requiredOption('--image <image>', "the step's image, e.g. fleetops.local/team/render:v1")
    .option('--name <name>', 'container name (default: from the image)')
    .option(...dirOption)
    .action(async (target: string, opts: { image: string; name?: string; dir: string }) => {
      const { addContainerCommand } = await import('./commands/promiseAuthor.ts');
      process.exitCode = addContainerCommand(opts.dir, target, { image: opts.image, ...(opts.name ? { name: opts.name } : {}) }, stdout);
    });
  const update = promise.command('update').description("change a Promise's API, dependencies or destination selector");
  update
    .command('api')
    .description("add or change (name:type) or remove (name-) fields of the Promise's API")
    .requiredOption('--property <field...>', 'name:type (string|integer|number|boolean|object|array), or name- to remove')
    .option(...dirOption)
    .action(async (opts: { property: string[]; dir: string }) => {
      const { updateApiCommand } = await import('./commands/promiseAuthor.ts');
      process.exitCode = updateApiCommand(opts.dir, opts.property, stdout);
    });
  update
    .command('dependencies')
    .description("the Promise's dependencies become the objects in a folder's YAML files")
    .argument('<from>', 'folder of YAML files')
    .option(...dirOption)
    .action(async (from: string, opts: { dir: string }) => {
      const { updateDependenciesCommand } = await import('./commands/promiseAuthor.ts');
      process.exitCode = updateDependenciesCommand(opts.dir, from, stdout);
    });
  update
    .command('destination-selector')
    .description('add or change (key=value) or remove (key-) labels Destinations must have')
    .argument('<labels...>', 'key=value or key-')
    .option(...dirOption)
    .action(async (labels: string[], opts: { dir: string }) => {
      const { updateDestinationSelectorCommand } = await import('./commands/promiseAuthor.ts');
      process.exitCode = updateDestinationSelectorCommand(opts.dir, labels, stdout);
    });
  promise
    .command('build')
    .description('one Promise file from a folder split into promise.yaml, api.yaml, dependencies.yaml and workflows/')
    .argument('[dir]', 'the folder', '.')
    .option('--name <name>', 'Promise name (default: from promise.yaml)')
    .option('-o, --output <file>', 'write it here (default: print it)')
    .action(async (dir: string, opts: { name?: string; output?: string }) => {
      const { buildPromiseCommand } = await import('./commands/promiseAuthor.ts');
      process.exitCode = buildPromiseCommand(dir, opts, stdout);
    });

  const rollout = program.command('rollout').description('see and steer how a Promise change reaches every resource');
  const intArg =
    (name: string) =>
    (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
      return n;
    };
  rollout
    .command('status')
    .description('progress of the latest rollout of a Promise: fleetops rollout status app -w')
    .argument('<promise>')
    .option('-w, --watch', 'follow until the rollout completes, halts or is aborted (exit 0 only when complete)')
    .option('--timeout <seconds>', 'with -w: give up after this long', intArg('--timeout'))
    .option('--revision <n>', 'the rollout of this revision', intArg('--revision'))
    .action(async (name: string, opts: { watch?: boolean; timeout?: number; revision?: number }, cmd: Command) => {
      const { rolloutStatusCommand } = await import('./commands/rollout.ts');
      await withContext(cmd, (ctx) =>
        rolloutStatusCommand(
          ctx,
          name,
          {
            ...(opts.watch ? { watch: true } : {}),
            ...(opts.timeout ? { timeoutSeconds: opts.timeout } : {}),
            ...(opts.revision ? { revision: opts.revision } : {}),
          },
          stdout,
        ),
      );
    });
  for (const [action, text] of [
    ['pause', 'stop handing the new revision to more resources (those in progress finish)'],
    ['resume', 'continue a paused rollout, or approve the next step of one waiting for approval'],
    ['abort', 'stop the rollout for good; resources already updated stay (undo takes them back)'],
  ] as const) {
    rollout
      .command(action)
      .description(text)
      .argument('<promise>')
      .action(async (name: string, _opts: unknown, cmd: Command) => {
        const { rolloutControlCommand } = await import('./commands/rollout.ts');
        await withContext(cmd, (ctx) => rolloutControlCommand(ctx, action, name, stdout));
      });
  }
  rollout
    .command('undo')
    .description('put the Promise back to its previous revision (or --to-revision) and roll that out across the fleet')
    .argument('<promise>')
    .option('--to-revision <n>', 'revision to go back to (default: the one before the latest)', intArg('--to-revision'))
    .action(async (name: string, opts: { toRevision?: number }, cmd: Command) => {
      const { rolloutUndoCommand } = await import('./commands/rollout.ts');
      await withContext(cmd, (ctx) => rolloutUndoCommand(ctx, name, opts.toRevision ? { toRevision: opts.toRevision } : {}, stdout));
    });
  rollout
    .command('promote')
    .description("hand the latest rollout's revision to resources by hand (those whose adoption policy is manual, or any)")
    .argument('<promise>')
    .option('-l, --selector <selector>', 'resources matching this label selector (with -n: in that namespace only)')
    .action(async (name: string, opts: { selector?: string }, cmd: Command) => {
      const { rolloutPromoteCommand } = await import('./commands/rollout.ts');
      const namespace = globals(cmd).namespace;
      await withContext(cmd, (ctx) =>
        rolloutPromoteCommand(ctx, name, { ...(opts.selector ? { selector: opts.selector } : {}), ...(namespace ? { namespace } : {}) }, stdout),
      );
    });
  rollout
    .command('history')
    .description("a Promise's revisions, what changed and how each rollout went")
    .argument('<promise>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { rolloutHistoryCommand } = await import('./commands/rollout.ts');
      await withContext(cmd, (ctx) => rolloutHistoryCommand(ctx, name, stdout));
    });
  rollout
    .command('plan')
    .description("dry run: run the changed Promise's workflows for every resource (or --sample N) in the sandbox and show what would change")
    .requiredOption('-f, --filename <path...>', 'the changed promise.yaml (or - for stdin)')
    .option('--sample <n>', 'plan only the first N resources', intArg('--sample'))
    .option('-o, --output <format>', 'yaml|json (default: a readable diff and summary)')
    .option('--keep', 'keep the RolloutPlan object afterwards')
    .action(async (opts: { filename: string[]; sample?: number; output?: string; keep?: boolean }, cmd: Command) => {
      const { rolloutPlanCommand } = await import('./commands/rollout.ts');
      await withContext(cmd, (ctx) => rolloutPlanCommand(ctx, opts, stdout, readStdin, stderr));
    });

  program
    .command('api-resources')
    .description('list the kinds the server serves')
    .action(async (_opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const rows = (await ctx.discovery.resources(true)).map((r) => [
          r.plural,
          r.shortNames.join(','),
          r.group ? `${r.group}/${r.version}` : r.version,
          String(r.namespaced),
          r.kind,
        ]);
        stdout(formatColumns(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND'], rows));
        return 0;
      });
    });

  program
    .command('version')
    .description('print client and server versions')
    .action(async (_opts: unknown, cmd: Command) => {
      stdout(`Client Version: fleetops ${VERSION}`);
      await withContext(cmd, async (ctx) => {
        const v = await ctx.client.get<typeof SERVER_VERSION>('/version');
        stdout(`Server Version: ${v.gitVersion} (Kubernetes API ${v.major}.${v.minor})`);
        return 0;
      });
    });
  return program;
}

/** Runs the CLI with `argv` (as in process.argv); errors become one line on stderr and exit code 1. */
export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`${errorLine(err)}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.main) await runCli(process.argv);
