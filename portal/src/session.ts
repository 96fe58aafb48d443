/** Who is signed in, and the namespace their requests go to by default. */
export function username(): string {
  return sessionStorage.getItem('fleetops.user') ?? '';
}

/** A team's token is its namespace's service account (`system:serviceaccount:<ns>:<name>`); others default to `default`. */
export function defaultNamespace(): string {
  const m = /^system:serviceaccount:([^:]+):/.exec(username());
  return m?.[1] ?? 'default';
}
