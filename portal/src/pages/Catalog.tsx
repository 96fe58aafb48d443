/** The catalog: every Promise the user may request, with its description and version. */
import type { ReactNode } from 'react';
import { kindOf, listPromises } from '../promises.ts';
import { Empty, ErrorBox, Loading, useApi } from '../components/ui.tsx';
import { href } from '../router.ts';

export function Catalog(): ReactNode {
  const { data, error, loading } = useApi(listPromises, []);
  if (loading) return <Loading what="the catalog" />;
  if (error) return <ErrorBox error={error} />;
  const kinds = (data ?? []).map(kindOf).filter((k) => k !== undefined);
  if (!kinds.length)
    return (
      <Empty>
        No Promise serves an API yet. The platform team installs them with <code>kubectl apply -f promise.yaml</code>.
      </Empty>
    );
  return (
    <section>
      <h1>Catalog</h1>
      <ul className="cards">
        {kinds.map((k) => (
          <li key={k.promise} className="card">
            <h2>{k.kind}</h2>
            <p className="muted">
              {k.group}/{k.version} · Promise <strong>{k.promise}</strong>
              {k.promiseVersion ? ` · version ${k.promiseVersion}` : ''}
            </p>
            {k.description && <p>{k.description}</p>}
            <p className="actions">
              <a className="button" href={href('request', k.promise)}>
                Request {k.kind === 'App' ? 'an' : 'a'} {k.kind}
              </a>
              <a href={href('resources', k.promise)}>Your {k.plural}</a>
              {!k.available && <span className="pill bad">unavailable</span>}
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
