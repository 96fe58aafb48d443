/**
 * A small yq for pipeline scripts, in mikefarah yq v4's syntax for what such scripts mostly do: read a path and
 * assign a value, in place or to stdout.
 *
 *   yq '.spec.replicas' file.yaml                  print a value (scalars bare, the rest as YAML)
 *   yq eval '.spec.replicas = 2' file.yaml -i      assign (a YAML literal or a quoted string), in place with -i
 *   yq e '.a.b' -                                  read stdin
 *
 * Every document of a multi-document file is evaluated, as yq does. Other expressions (pipes, functions, selects)
 * are refused with a message naming what this yq supports.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isMap, isSeq, parseAllDocuments, parse, stringify, type Document } from 'yaml';

type Segment = string | number;

function fail(message: string): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

function parsePath(text: string): Segment[] {
  const path = text.trim();
  if (path === '.') return [];
  if (!path.startsWith('.')) fail(`expression ${JSON.stringify(text)}: this yq supports paths (.a.b[0]) and assignments (.a.b = value) only`);
  const segments: Segment[] = [];
  const re = /\.([A-Za-z_][\w-]*)|\.?\[(\d+)\]|\.?"([^"]+)"/y;
  let at = 0;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (!m) fail(`expression ${JSON.stringify(text)}: this yq supports paths (.a.b[0]) and assignments (.a.b = value) only`);
    segments.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (m[3] as string)));
    at = re.lastIndex;
  }
  return segments;
}

function literal(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('"') && t.endsWith('"')) return JSON.parse(t) as unknown;
  return parse(t) as unknown;
}

const args = process.argv.slice(2);
let inPlace = false;
const positional: string[] = [];
for (const a of args) {
  if (a === '-i' || a === '--inplace') inPlace = true;
  else if (a === 'eval' || a === 'e') continue;
  else if (a.startsWith('-') && a !== '-') fail(`flag ${a} is not supported by this yq (supported: -i)`);
  else positional.push(a);
}
const [expression, ...files] = positional;
if (expression === undefined) fail('usage: yq [eval] EXPRESSION [FILE...] [-i]');
const eq = /^(.*?[^=!<>])=(?!=)(.*)$/s.exec(expression);
const path = parsePath(eq ? (eq[1] as string) : expression);
const value = eq ? literal(eq[2] as string) : undefined;
if (inPlace && !files.length) fail('-i needs a file');

for (const file of files.length ? files : ['-']) {
  let text = '';
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    if (!(inPlace && (err as NodeJS.ErrnoException).code === 'ENOENT')) fail(`cannot read ${file}: ${(err as Error).message}`);
  }
  const docs: Document[] = parseAllDocuments(text) as Document[];
  if (!docs.length) docs.push(parseAllDocuments('{}')[0] as Document);
  const out: string[] = [];
  for (const doc of docs) {
    if (eq) {
      if (!isMap(doc.contents) && !isSeq(doc.contents) && path.length) doc.contents = doc.createNode({}) as never;
      doc.setIn(path, value);
      out.push(doc.toString({ lineWidth: 0 }));
    } else {
      const node = path.length ? doc.getIn(path, true) : doc.contents;
      const js = node && typeof node === 'object' && 'toJSON' in node ? (node as { toJSON(): unknown }).toJSON() : node;
      out.push(js === undefined || js === null ? 'null\n' : typeof js === 'object' ? stringify(js) : `${String(js)}\n`);
    }
  }
  const joined = eq ? out.join('---\n') : out.join('');
  if (inPlace) writeFileSync(file, joined);
  else process.stdout.write(joined);
}
