/**
 * What a state-store commit says, as a GitOps user reads history: which requests (and Promises' dependencies) changed
 * on which Destinations, from the paths the commit touches in Kratix's layout
 * (`<destination>/resources/<namespace>/<promise>/<name>/…`, `<destination>/dependencies/<promise>/…`).
 */
import type { DestinationLayout } from '../../statestores/layout.ts';

const LISTED = 20;

export function commitMessage(changed: readonly string[], layouts: readonly Pick<DestinationLayout, 'name' | 'root'>[]): string {
  const resources = new Set<string>();
  const dependencies = new Set<string>();
  const destinations = new Set<string>();
  let other = 0;
  // The deepest root first: a Destination's folder inside another's belongs to it.
  const deepestFirst = [...layouts].sort((a, b) => b.root.length - a.root.length);
  for (const path of changed) {
    const layout = deepestFirst.find((l) => l.root === '' || path.startsWith(`${l.root}/`));
    const rest = (layout && layout.root ? path.slice(layout.root.length + 1) : path).split('/');
    if (layout) destinations.add(layout.name);
    if (rest[0] === 'resources' && rest.length >= 5) resources.add(`${rest[2]} ${rest[1]}/${rest[3]}`);
    else if (rest[0] === 'dependencies' && rest.length >= 3) dependencies.add(rest[1] ?? '');
    else other++;
  }
  const parts: string[] = [];
  if (resources.size) parts.push(`${resources.size} request${resources.size === 1 ? '' : 's'}`);
  if (dependencies.size) parts.push(`dependencies of ${[...dependencies].sort().join(', ')}`);
  if (!parts.length) parts.push(`${other} file${other === 1 ? '' : 's'}`);
  const to = destinations.size ? ` on ${[...destinations].sort().join(', ')}` : '';
  const subject = `FleetOps: ${parts.join(' and ')}${to}`;
  const listed = [...resources].sort();
  if (!listed.length) return subject;
  const body = listed.slice(0, LISTED).map((r) => `- ${r}`);
  if (listed.length > LISTED) body.push(`- and ${listed.length - LISTED} more`);
  return `${subject}\n\n${body.join('\n')}`;
}
