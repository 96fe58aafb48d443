/** Timestamps as the Kubernetes API writes them: RFC 3339 in UTC, to the second. */
export function rfc3339Seconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A MicroTime (Lease renewTime, Event eventTime): RFC 3339 in UTC with microseconds. */
export function rfc3339Micro(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
