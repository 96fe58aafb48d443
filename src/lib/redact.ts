/** Credentials out of text that may reach logs, events or status conditions. */

/** URLs' user information (`https://user:token@host/…` → `https://***@host/…`), and each of `secrets` verbatim. */
export function redactCredentials(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}
