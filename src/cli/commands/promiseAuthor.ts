/**
 * A Promise author's edits, as Kratix's CLI has them, on the Promise's files (no server): `promise add container`
 * (a step in a workflow's pipeline, with a step folder to build its image from), `promise update api` (properties
 * added or removed), `promise update dependencies DIR`, `promise update destination-selector`, and `promise build`
 * (one Promise file from a folder split into api.yaml, dependencies.yaml and workflows/). Edits keep the file's
 * comments and layout (yaml's Document API); each says what it changed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isMap, isSeq, parseAllDocuments, parseDocument, stringify, type Document } from 'yaml';
import { isKubeObject, isPlainObject, type KubeObject } from '../../api/types.ts';
import { validateDns1123Label } from '../../api/validation.ts';
import { UsageError } from './promiseInit.ts';

type Out = (line: string) => void;

/** A YAML node's value as plain data (unknown until checked). */
const plain = (node: { toJSON(): unknown }): unknown => node.toJSON();
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Sets a value as a YAML node (a plain value set in a Document cannot be walked into by later edits). */
function setNode(doc: Document, path: unknown[], value: unknown): void {
  doc.setIn(path, doc.createNode(value));
}

const WORKFLOW_TYPES = ['resource', 'promise'];
const ACTIONS = ['configure', 'delete'];

/** promise.yaml in DIR (or the file), parsed as a Document to edit, and how to write it back. */
function openPromise(path: string): { doc: Document; save(): void; file: string } {
  const file = existsSync(path) && !path.endsWith('.yaml') && !path.endsWith('.yml') ? join(path, 'promise.yaml') : path;
  if (!existsSync(file)) throw new UsageError(`no Promise at ${file}: run this in the Promise's folder or give --dir`);
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length) throw new UsageError(`${file} is not valid YAML: ${doc.errors[0]?.message ?? ''}`);
  if (doc.get('kind') !== 'Promise') throw new UsageError(`${file} is not a Promise (kind: Promise)`);
  return { doc, file, save: () => writeFileSync(file, doc.toString({ lineWidth: 0 })) };
}

/**
 * `fleetops promise add container <type>/<action>/<pipeline> --image IMAGE [--name N]`: the container is added to
 * the pipeline (made if missing), and a step folder `workflows/<type>/<action>/<pipeline>/<name>/` gets an
 * image.yaml and a shell script to start from (`fleetops image build` on it).
 */
export function addContainerCommand(dir: string, target: string, opts: { image: string; name?: string }, out: Out): number {
  const [type = '', action = '', pipeline = '', ...rest] = target.split('/');
  if (rest.length || !WORKFLOW_TYPES.includes(type) || !ACTIONS.includes(action) || validateDns1123Label(pipeline))
    throw new UsageError(`"${target}" must be <resource|promise>/<configure|delete>/<pipeline-name>, e.g. resource/configure/instance`);
  const name =
    opts.name ??
    opts.image
      .split('/')
      .at(-1)
      ?.split(':')[0]
      ?.replace(/[^a-z0-9-]/g, '-') ??
    'step';
  if (validateDns1123Label(name)) throw new UsageError(`container name "${name}" must be a DNS label: give --name`);
  const { doc, save, file } = openPromise(dir);
  const path = ['spec', 'workflows', type, action];
  const pipelines = doc.getIn(path);
  if (pipelines !== undefined && !isSeq(pipelines)) throw new UsageError(`${path.join('.')} in ${file} must be a list of Pipelines`);
  const json = isSeq(pipelines) ? plain(pipelines) : [];
  const list: unknown[] = Array.isArray(json) ? json : [];
  let index = list.findIndex((p) => isPlainObject(p) && isPlainObject(p.metadata) && p.metadata.name === pipeline);
  if (index < 0) {
    setNode(doc, path, [...list, { apiVersion: 'platform.kratix.io/v1alpha1', kind: 'Pipeline', metadata: { name: pipeline }, spec: { containers: [] } }]);
    index = list.length;
  }
  const containers = doc.getIn([...path, index, 'spec', 'containers']);
  const current = isSeq(containers) ? plain(containers) : [];
  const existing: unknown[] = Array.isArray(current) ? current : [];
  if (existing.some((c) => isPlainObject(c) && c.name === name))
    throw new UsageError(`pipeline ${pipeline} already has a container named ${name}: give another --name`);
  setNode(doc, [...path, index, 'spec', 'containers'], [...existing, { name, image: opts.image }]);
  save();
  const folder = join(resolve(dir), 'workflows', type, action, pipeline, name);
  if (!existsSync(folder)) {
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'image.yaml'), stringify({ tag: opts.image, base: 'busybox', entrypoint: ['sh', '/pipeline/run.sh'] }));
    writeFileSync(
      join(folder, 'run.sh'),
      [
        '#!/bin/sh',
        '# The request is /kratix/input/object.yaml; write documents to /kratix/output, status fields to',
        '# /kratix/metadata/status.yaml (see the pipeline contract).',
        'set -eu',
        `echo "message: ${name} ran for $KRATIX_OBJECT_NAME" > /kratix/metadata/status.yaml`,
        '',
      ].join('\n'),
    );
  }
  out(`container ${name} (${opts.image}) added to ${type}/${action} pipeline ${pipeline} in ${file}; its step: ${folder} (fleetops image build ${folder})`);
  return 0;
}

const PROPERTY_TYPES = new Set(['string', 'integer', 'number', 'boolean', 'object', 'array']);

/** `fleetops promise update api --property name:type … --property name-`: spec properties added, changed or removed. */
export function updateApiCommand(dir: string, properties: string[], out: Out): number {
  if (!properties.length) throw new UsageError('give --property name:type to add or change a field, or --property name- to remove one');
  const { doc, save, file } = openPromise(dir);
  const versions = doc.getIn(['spec', 'api', 'spec', 'versions']);
  if (!isSeq(versions) || !versions.items.length) throw new UsageError(`${file} has no spec.api.spec.versions: scaffold the API first (fleetops promise init)`);
  const said: string[] = [];
  versions.items.forEach((_, i) => {
    const base = ['spec', 'api', 'spec', 'versions', i, 'schema', 'openAPIV3Schema', 'properties', 'spec'];
    if (!isMap(doc.getIn(base))) setNode(doc, base, { type: 'object', properties: {} });
    for (const p of properties) {
      const remove = p.endsWith('-');
      const [name = '', type = 'string'] = (remove ? p.slice(0, -1) : p).split(':');
      if (!/^[a-zA-Z][a-zA-Z0-9]*$/.test(name)) throw new UsageError(`property "${p}": the name must be letters and digits, starting with a letter`);
      if (!remove && !PROPERTY_TYPES.has(type)) throw new UsageError(`property "${p}": the type must be one of ${[...PROPERTY_TYPES].join(', ')}`);
      if (remove) {
        doc.deleteIn([...base, 'properties', name]);
        const required = doc.getIn([...base, 'required']);
        if (isSeq(required))
          setNode(
            doc,
            [...base, 'required'],
            strings(plain(required)).filter((r) => r !== name),
          );
        if (i === 0) said.push(`removed ${name}`);
      } else {
        setNode(doc, [...base, 'properties', name], { type });
        if (i === 0) said.push(`${name}: ${type}`);
      }
    }
  });
  save();
  out(`API of ${file} updated: ${said.join(', ')}`);
  return 0;
}

/** Every YAML document in the files of a folder (sorted by name; not recursive), as Kubernetes objects. */
function documentsIn(dir: string): KubeObject[] {
  if (!existsSync(dir)) throw new UsageError(`no folder ${dir}`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const docs: KubeObject[] = [];
  for (const f of files) {
    for (const d of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const value: unknown = d.toJS();
      if (value === null || value === undefined) continue;
      if (!isKubeObject(value)) throw new UsageError(`${join(dir, f)}: every document must be a Kubernetes object (apiVersion, kind, metadata)`);
      docs.push(value);
    }
  }
  return docs;
}

/** `fleetops promise update dependencies DIR`: the Promise's dependencies become the objects in DIR's YAML files. */
export function updateDependenciesCommand(dir: string, from: string, out: Out): number {
  const docs = documentsIn(resolve(from));
  const { doc, save, file } = openPromise(dir);
  setNode(doc, ['spec', 'dependencies'], docs);
  save();
  out(`${docs.length} dependencies of ${file} set from ${from}`);
  return 0;
}

/** `fleetops promise update destination-selector key=value … key-`: the Promise's scheduling labels. */
export function updateDestinationSelectorCommand(dir: string, labels: string[], out: Out): number {
  if (!labels.length) throw new UsageError('give key=value to add or change a label, or key- to remove one');
  const { doc, save, file } = openPromise(dir);
  const current = doc.getIn(['spec', 'destinationSelectors', 0, 'matchLabels']);
  const found = isMap(current) ? plain(current) : {};
  const match: Record<string, string> = {};
  if (isPlainObject(found)) for (const [k, v] of Object.entries(found)) match[k] = String(v);
  for (const l of labels) {
    if (l.endsWith('-')) delete match[l.slice(0, -1)];
    else {
      const [key = '', value, ...rest] = l.split('=');
      if (!key || value === undefined || rest.length) throw new UsageError(`"${l}" must be key=value (or key- to remove it)`);
      match[key] = value;
    }
  }
  if (Object.keys(match).length) setNode(doc, ['spec', 'destinationSelectors', 0, 'matchLabels'], match);
  else doc.deleteIn(['spec', 'destinationSelectors']);
  save();
  out(
    `destination selector of ${file}: ${
      Object.entries(match)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || '(none: every Destination)'
    }`,
  );
  return 0;
}

/**
 * `fleetops promise build DIR`: one Promise from a folder split as Kratix's `init --split` makes it — promise.yaml
 * (metadata, and anything else of the spec), api.yaml (the CRD), dependencies.yaml, and
 * workflows/<resource|promise>/<configure|delete>/workflow.yaml (a list of Pipelines) — printed or written to `-o`.
 */
export function buildPromiseCommand(dir: string, opts: { name?: string; output?: string }, out: Out): number {
  const folder = resolve(dir);
  const read = (file: string): unknown[] =>
    existsSync(join(folder, file)) ? parseAllDocuments(readFileSync(join(folder, file), 'utf8')).map((d): unknown => d.toJS()) : [];
  const base = read('promise.yaml').find((d) => isKubeObject(d) && d.kind === 'Promise');
  const name = opts.name ?? (isKubeObject(base) ? base.metadata.name : undefined);
  if (!name) throw new UsageError(`no promise.yaml with a name in ${folder}: give --name`);
  const spec: Record<string, unknown> = isKubeObject(base) && isPlainObject(base.spec) ? { ...base.spec } : {};
  const [api] = read('api.yaml');
  if (api !== undefined) spec.api = api;
  const dependencies = read('dependencies.yaml').filter((d) => d !== null && d !== undefined);
  if (dependencies.length) spec.dependencies = dependencies;
  const workflows: Record<string, Record<string, unknown>> = {};
  if (isPlainObject(spec.workflows)) for (const [k, v] of Object.entries(spec.workflows)) if (isPlainObject(v)) workflows[k] = { ...v };
  for (const type of WORKFLOW_TYPES) {
    for (const action of ACTIONS) {
      const [pipelines] = read(join('workflows', type, action, 'workflow.yaml'));
      if (pipelines === undefined) continue;
      if (!Array.isArray(pipelines)) throw new UsageError(`workflows/${type}/${action}/workflow.yaml must be a list of Pipelines`);
      workflows[type] = { ...(workflows[type] ?? {}), [action]: pipelines };
    }
  }
  if (Object.keys(workflows).length) spec.workflows = workflows;
  const promise = {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Promise',
    metadata: isKubeObject(base) ? { ...base.metadata, name } : { name },
    spec,
  };
  const text = stringify(promise, { lineWidth: 0 });
  if (opts.output) {
    writeFileSync(opts.output, text);
    out(`Promise ${name} written to ${opts.output}`);
  } else out(text.trimEnd());
  return 0;
}
