/** Sign in with a FleetOps token (an admin's from `fleetops up`, or a team's from `fleetops team add`). */
import { useState, type ReactNode } from 'react';
import { request, signIn, signOut } from '../api.ts';
import { ErrorBox } from '../components/ui.tsx';
import { navigate } from '../router.ts';
import { rememberIdentity } from '../session.ts';

export function SignIn({ onSignedIn }: { onSignedIn: () => void }): ReactNode {
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <h1>FleetOps</h1>
      <p>
        Sign in with your FleetOps token: <code>fleetops team add</code> gives one to a team; an admin's is in the kubeconfig <code>fleetops up</code> writes.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          signIn(value);
          // Who am I: the server's answer says whether the token is good, and who it is.
          request<{ status?: { userInfo?: { username?: string; extra?: Record<string, string[]> } } }>(
            'POST',
            '/apis/authentication.k8s.io/v1/selfsubjectreviews',
            {
              apiVersion: 'authentication.k8s.io/v1',
              kind: 'SelfSubjectReview',
            },
          )
            .then((review) => {
              rememberIdentity(review.status?.userInfo);
              onSignedIn();
              navigate();
            })
            .catch((err: unknown) => {
              signOut();
              setError(err);
            })
            .finally(() => setBusy(false));
        }}
      >
        <label htmlFor="token">Token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" required value={value} onChange={(e) => setValue(e.target.value)} />
        <button type="submit" disabled={busy || !value.trim()}>
          Sign in
        </button>
        {error !== undefined && <ErrorBox error={error} />}
      </form>
    </main>
  );
}
