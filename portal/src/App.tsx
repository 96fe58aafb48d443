/** The portal's frame: navigation, who is signed in, and the page of the current route. */
import { useState, type ReactNode } from 'react';
import { signOut, token } from './api.ts';
import { forgetAccess, useCan } from './access.ts';
import { href, useRoute } from './router.ts';
import { username } from './session.ts';
import { Catalog } from './pages/Catalog.tsx';
import { Platform, PromiseDetail } from './pages/Platform.tsx';
import { RequestForm } from './pages/RequestForm.tsx';
import { ResourceDetail } from './pages/ResourceDetail.tsx';
import { ResourceList } from './pages/ResourceList.tsx';
import { SignIn } from './pages/SignIn.tsx';

export function App(): ReactNode {
  const route = useRoute();
  const [, setSignedIn] = useState(0);
  if (!token() || route.page === 'signin') return <SignIn onSignedIn={() => setSignedIn((n) => n + 1)} />;
  const page = ((): ReactNode => {
    switch (route.page) {
      case 'request':
        return <RequestForm key={route.promise} promise={route.promise} />;
      case 'resources':
        return <ResourceList key={route.promise} promise={route.promise} />;
      case 'resource':
        return (
          <ResourceDetail key={`${route.promise}/${route.namespace}/${route.name}`} promise={route.promise} namespace={route.namespace} name={route.name} />
        );
      case 'platform':
        return <Platform />;
      case 'promise':
        return <PromiseDetail key={route.promise} promise={route.promise} />;
      default:
        return <Catalog />;
    }
  })();
  return (
    <>
      <header>
        <a className="brand" href={href()}>
          FleetOps
        </a>
        <MainNav page={route.page} />
        <span className="user" title={username()}>
          {displayName(username())}
        </span>
        <button
          type="button"
          onClick={() => {
            signOut();
            forgetAccess();
            window.location.hash = href('signin');
          }}
        >
          Sign out
        </button>
      </header>
      <main>{page}</main>
    </>
  );
}

/** The main links: the platform view only for those who may follow rollouts (the platform team). */
function MainNav({ page }: { page: string }): ReactNode {
  const platformTeam = useCan({ verb: 'list', group: 'fleetops.dev', resource: 'rollouts' });
  return (
    <nav aria-label="Main">
      <a href={href()} aria-current={page === 'catalog' ? 'page' : undefined}>
        Catalog
      </a>
      {platformTeam && (
        <a href={href('platform')} aria-current={page === 'platform' || page === 'promise' ? 'page' : undefined}>
          Platform
        </a>
      )}
    </nav>
  );
}

/** Who is signed in, as people name them: a team by its name, not `system:serviceaccount:team-a:team-a`. */
export function displayName(username: string): string {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (!m) return username;
  return m[1] === m[2] ? `team ${m[1]}` : `${m[2]} (team ${m[1]})`;
}
