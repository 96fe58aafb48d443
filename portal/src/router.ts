/** Hash routes: every page has a link of its own (`/portal/#/resources/app/default/todoer`), with no server routes. */
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'signin' }
  | { page: 'catalog' }
  | { page: 'request'; promise: string }
  | { page: 'resources'; promise: string }
  | { page: 'resource'; promise: string; namespace: string; name: string }
  | { page: 'platform' }
  | { page: 'promise'; promise: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [head, a, b, c] = parts;
  if (head === 'signin') return { page: 'signin' };
  if (head === 'request' && a) return { page: 'request', promise: a };
  if (head === 'resources' && a && b && c) return { page: 'resource', promise: a, namespace: b, name: c };
  if (head === 'resources' && a) return { page: 'resources', promise: a };
  if (head === 'platform' && a) return { page: 'promise', promise: a };
  if (head === 'platform') return { page: 'platform' };
  return { page: 'catalog' };
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

export function navigate(...parts: string[]): void {
  window.location.hash = href(...parts);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
