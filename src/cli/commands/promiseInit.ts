/**
 * `fleetops promise init <name>`: scaffolds a Promise folder in the spirit of `kratix init promise` — a promise.yaml
 * whose API has the fields given with --property, a first configure pipeline step written in TypeScript against the
 * FleetOps step SDK, and an example request. Nothing is overwritten: an existing folder is an error.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { INSTALL_DIR } from '../../lib/installation.ts';
import { stringify } from 'yaml';
import { validateDns1123Label, validateDns1123Subdomain } from '../../api/validation.ts';

export interface PromiseInitOptions {
  group: string;
  kind: string;
  version: string;
  plural?: string;
  property: string[];
  dir: string;
}

const TYPES = new Set(['string', 'integer', 'number', 'boolean']);

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface Property {
  name: string;
  type: string;
  required: boolean;
}

/** `name:type` or `name:type:required`; one clear message for anything else. */
export function parseProperty(text: string): Property {
  const [name = '', type = 'string', flag, ...rest] = text.split(':');
  if (!/^[a-zA-Z][a-zA-Z0-9]*$/.test(name) || !TYPES.has(type) || (flag !== undefined && flag !== 'required') || rest.length) {
    throw new UsageError(
      `--property ${JSON.stringify(text)} is not valid: use name:type[:required] with type one of ${[...TYPES].join('|')}, e.g. --property image:string:required`,
    );
  }
  return { name, type, required: flag === 'required' };
}

const EXAMPLE_VALUE: Record<string, unknown> = { string: 'example', integer: 1, number: 1.5, boolean: true };

export function promiseInitCommand(name: string, opts: PromiseInitOptions, out: (text: string) => void): number {
  if (validateDns1123Label(name))
    throw new UsageError(`promise name ${JSON.stringify(name)} is not valid: use a lowercase DNS-1123 label such as "postgresql"`);
  if (validateDns1123Subdomain(opts.group) || !opts.group.includes('.'))
    throw new UsageError(`--group ${JSON.stringify(opts.group)} is not valid: use a domain such as "marketplace.example.com"`);
  if (!/^[A-Z][A-Za-z0-9]*$/.test(opts.kind)) throw new UsageError(`--kind ${JSON.stringify(opts.kind)} is not valid: use a CamelCase name such as "Database"`);
  if (validateDns1123Label(opts.version)) throw new UsageError(`--version ${JSON.stringify(opts.version)} is not valid: use e.g. "v1alpha1"`);
  const plural = opts.plural ?? pluralOf(opts.kind);
  if (validateDns1123Label(plural)) throw new UsageError(`--plural ${JSON.stringify(plural)} is not valid: use a lowercase DNS-1123 label`);
  const properties = opts.property.map(parseProperty);
  const folder = resolve(opts.dir, name);
  // Built into FleetOps' local image cache by `fleetops image build` (fleetops.local images are never pulled).
  const imageTag = `fleetops.local/${name}/configure:v0.1.0`;
  if (existsSync(folder)) throw new UsageError(`${folder} already exists: choose another --dir or remove it`);

  const specSchema: Record<string, unknown> = {
    type: 'object',
    properties: Object.fromEntries(properties.map((p) => [p.name, { type: p.type, description: `TODO: describe ${p.name}` }])),
  };
  const required = properties.filter((p) => p.required).map((p) => p.name);
  if (required.length) specSchema.required = required;
  const promise = {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Promise',
    metadata: { name, labels: { 'kratix.io/promise-version': 'v0.1.0' } },
    spec: {
      destinationSelectors: [{ matchLabels: { environment: 'worker' } }],
      api: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${plural}.${opts.group}` },
        spec: {
          group: opts.group,
          names: { kind: opts.kind, plural, singular: opts.kind.toLowerCase() },
          scope: 'Namespaced',
          versions: [{ name: opts.version, served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: specSchema } } } }],
        },
      },
      workflows: {
        resource: {
          configure: [
            {
              apiVersion: 'platform.kratix.io/v1alpha1',
              kind: 'Pipeline',
              metadata: { name: 'instance-configure' },
              spec: { containers: [{ name: 'configure', image: imageTag }] },
            },
          ],
        },
      },
    },
  };
  const imageSpec = [
    `# The configure step's image: npx fleetops image build ${join(folder, 'pipeline')}`,
    '# (Node and the step SDK on a static busybox; this folder at /pipeline). Push it to your registry with --push and',
    '# a tag there when FleetOps runs elsewhere.',
    `tag: ${imageTag}`,
    'base: node',
    'entrypoint: [node, /pipeline/configure.ts]',
    '',
  ].join('\n');
  const step = `/**
 * First configure step of the ${name} Promise. It runs in its image, in the FleetOps sandbox, with Kratix's contract: the request is
 * /kratix/input/object.yaml, documents written to /kratix/output go to the destinations, status goes on the request.
 */
import { readInput, writeOutput, setStatus } from '/fleetops/src/sdk/kratix.ts';

interface ${opts.kind} {
  metadata: { name: string; namespace: string };
  spec: { ${properties.map((p) => `${p.name}?: ${p.type === 'integer' ? 'number' : p.type}`).join('; ')} };
}

const request = readInput<${opts.kind}>();
writeOutput('configmap.yaml', {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: \`${name}-\${request.metadata.name}\`, namespace: request.metadata.namespace },
  data: Object.fromEntries(Object.entries(request.spec ?? {}).map(([k, v]) => [k, String(v)])),
});
setStatus({ message: \`${opts.kind} \${request.metadata.name} configured\` });
`;
  const example = {
    apiVersion: `${opts.group}/${opts.version}`,
    kind: opts.kind,
    metadata: { name: `example-${opts.kind.toLowerCase()}`, namespace: 'default' },
    spec: Object.fromEntries(properties.map((p) => [p.name, EXAMPLE_VALUE[p.type]])),
  };
  mkdirSync(join(folder, 'pipeline'), { recursive: true });
  writeFileSync(join(folder, 'promise.yaml'), stringify(promise, { lineWidth: 0 }));
  writeFileSync(join(folder, 'pipeline', 'configure.ts'), step);
  writeFileSync(join(folder, 'pipeline', 'image.yaml'), imageSpec);
  writeFileSync(join(folder, 'example-resource.yaml'), stringify(example));
  // One test case: the example request; `fleetops promise test --update` records what the workflows write for it.
  mkdirSync(join(folder, 'test', 'example'), { recursive: true });
  writeFileSync(join(folder, 'test', 'example', 'input.yaml'), stringify(example));
  // Commands that work from the Promise's own folder, anywhere: this FleetOps' CLI by its path (a bare
  // "npx fleetops" outside the checkout would fetch whatever package of that name the npm registry has).
  const cli = `${process.execPath} ${join(INSTALL_DIR, 'bin', 'fleetops.js')}`;
  writeFileSync(join(folder, 'README.md'), scaffoldReadme({ name, kind: opts.kind, apiVersion: `${opts.group}/${opts.version}`, plural, cli }));
  out(
    `${name} promise scaffolded in ${folder}:\n  promise.yaml, pipeline/configure.ts, pipeline/image.yaml, example-resource.yaml, test/example/input.yaml, README.md\nnext (see its README):\n  cd ${folder}\n  ${cli} image build pipeline\n  ${cli} promise test --update\n  ${cli} apply -f promise.yaml`,
  );
  return 0;
}

/** English plural of a kind, lowercased, as Kubernetes tools make it: Redis → redises, Policy → policies, App → apps. */
export function pluralOf(kind: string): string {
  const k = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

/** The scaffold's README: what each file is, and the commands to build, install and try it. */
export function scaffoldReadme(o: { name: string; kind: string; apiVersion: string; plural: string; cli: string }): string {
  return [
    `# ${o.name}`,
    '',
    `A Promise offering \`${o.kind}\` (${o.apiVersion}).`,
    '',
    '- `promise.yaml`: the Promise; add fields with `--property` when scaffolding or edit its schema.',
    '- `pipeline/configure.ts`: the configure step, run for every request, in the image `pipeline/image.yaml` describes.',
    '- `example-resource.yaml`: a request to try it.',
    '- `test/example/input.yaml`: a test case; `promise test --update` records what the workflows write for it beside it',
    '  (`output/`, `status.yaml`), and `promise test` then checks them, here, without a FleetOps server.',
    '',
    'From this folder, with the FleetOps CLI that made it (`npx fleetops` works only inside the FleetOps checkout):',
    '',
    '```sh',
    `FLEETOPS="${o.cli}"`,
    '$FLEETOPS image build pipeline',
    "$FLEETOPS promise test --update   # record the test case's expectations (then review them)",
    '$FLEETOPS promise test            # check them after each change (exit 1 and a diff when one differs)',
    '$FLEETOPS apply -f promise.yaml',
    '$FLEETOPS apply -f example-resource.yaml',
    `$FLEETOPS get ${o.plural}`,
    '```',
    '',
    'The step is TypeScript run by Node.js 24 inside its image (`base: node`): the image holds the Node.js binary, about',
    '130 MB, unpacked once and shared by every run. A step written for the shell can use `base: busybox` (about 1 MB) in',
    '`pipeline/image.yaml` instead.',
    '',
  ].join('\n');
}
