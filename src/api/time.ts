/** The last second formatted: every write stamps the time, and most writes of a second share it. */
let lastSecond = NaN;
let lastText = '';

/** Timestamps as the Kubernetes API writes them: RFC 3339 in UTC, to the second. */
export function rfc3339Seconds(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== lastSecond) {
    lastText = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    lastSecond = second;
  }
  return lastText;
}

/** A MicroTime (Lease renewTime, Event eventTime): RFC 3339 in UTC with microseconds. */
export function rfc3339Micro(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
