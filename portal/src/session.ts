/** Who is signed in, the namespaces they work in, and the one their requests go to by default. */
export function username(): string {
  return sessionStorage.getItem('fleetops.user') ?? '';
}

/** The namespaces where the identity's RoleBindings are (the server's SelfSubjectReview says), sorted. */
export function namespaces(): string[] {
  try {
    const list: unknown = JSON.parse(sessionStorage.getItem('fleetops.namespaces') ?? '[]');
    return Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberIdentity(userInfo: { username?: string; extra?: Record<string, string[]> } | undefined): void {
  sessionStorage.setItem('fleetops.user', userInfo?.username ?? '');
  sessionStorage.setItem('fleetops.namespaces', JSON.stringify(userInfo?.extra?.['fleetops.dev/namespaces'] ?? []));
}

/**
 * A team's token is its namespace's service account (`system:serviceaccount:<ns>:<name>`): that namespace first;
 * else the first the identity is bound in; else `default` (an administrator's).
 */
export function defaultNamespace(): string {
  const m = /^system:serviceaccount:([^:]+):/.exec(username());
  return m?.[1] ?? namespaces()[0] ?? 'default';
}
