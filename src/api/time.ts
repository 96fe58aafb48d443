/** Timestamps as the Kubernetes API writes them: RFC 3339 in UTC, to the second. */
export function rfc3339Seconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
