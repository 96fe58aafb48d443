/**
 * A document fetched over http(s) for FleetOps itself (a PromiseRelease's Promise): bounded in time and size, and a
 * non-2xx answer is an error that says what the server said.
 */
export async function fetchText(url: string, headers: Record<string, string>, limits: { timeoutMs?: number; maxBytes?: number } = {}): Promise<string> {
  const maxBytes = limits.maxBytes ?? 3 * 1024 * 1024;
  const res = await fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(limits.timeoutMs ?? 30_000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new Error(`GET ${url}: ${declared} bytes, more than the ${maxBytes} a Promise may have`);
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > maxBytes) throw new Error(`GET ${url}: ${body.length} bytes, more than the ${maxBytes} a Promise may have`);
  return body.toString('utf8');
}
