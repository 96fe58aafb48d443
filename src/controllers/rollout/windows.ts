/**
 * Rollout windows, as Argo CD's sync windows: each is `allow` or `deny`, opens at the times a five-field cron
 * schedule names (minute hour day-of-month month day-of-week, in its time zone) and stays open for a duration. At a
 * given time a rollout may hand out its revision when no deny window is open and, if there are allow windows, one of
 * them is. Pure functions of the time they are given (the controllers pass their injected clock).
 */

export interface RolloutWindow {
  kind: 'allow' | 'deny';
  schedule: string;
  durationMs: number;
  /** IANA time zone of the schedule (default UTC). */
  timeZone?: string;
}

/** The cron fields as sets of allowed values (day of week 0–6, Sunday 0; 7 is read as 0). */
interface Cron {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  /** Cron's rule: when both day fields are restricted, a day matching either is a match. */
  domStar: boolean;
  dowStar: boolean;
}

const FIELDS: { name: string; min: number; max: number; names?: string[] }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/** Parses a five-field cron schedule; throws an Error saying which field is wrong. */
export function parseCron(schedule: string): Cron {
  const parts = schedule.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`schedule "${schedule}" must have five fields: minute hour day-of-month month day-of-week`);
  const sets = parts.map((part, i) => {
    const f = FIELDS[i]!;
    const value = (text: string): number => {
      const named = f.names?.indexOf(text.toLowerCase()) ?? -1;
      const n = named >= 0 ? named + (f.name === 'month' ? 1 : 0) : Number(text);
      if (!Number.isInteger(n) || n < f.min || n > f.max) throw new Error(`schedule "${schedule}": ${f.name} "${text}" is not between ${f.min} and ${f.max}`);
      return n;
    };
    const set = new Set<number>();
    for (const item of part.split(',')) {
      const [range = '', stepText] = item.split('/');
      const step = stepText === undefined ? 1 : Number(stepText);
      if (!Number.isInteger(step) || step < 1) throw new Error(`schedule "${schedule}": step "${stepText}" of the ${f.name} must be a positive integer`);
      const [lo, hi] = range === '*' ? [f.min, f.max] : range.includes('-') ? range.split('-').map(value) : [value(range), stepText ? f.max : value(range)];
      if (lo === undefined || hi === undefined || lo > hi) throw new Error(`schedule "${schedule}": ${f.name} range "${range}" is empty`);
      for (let v = lo; v <= hi; v += step) set.add(f.name === 'day of week' && v === 7 ? 0 : v);
    }
    return set;
  });
  const [minute, hour, dom, month, dow] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return { minute, hour, dom, month, dow, domStar: parts[2] === '*', dowStar: parts[4] === '*' };
}

/** Checks a time zone name; throws when the runtime does not know it. */
export function checkTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat('en-US', { timeZone });
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of an instant in a time zone. */
function local(at: number, timeZone: string): { minute: number; hour: number; dom: number; month: number; dow: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      minute: 'numeric',
      hour: 'numeric',
      day: 'numeric',
      month: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(at)) parts[p.type] = p.value;
  return {
    minute: Number(parts.minute),
    hour: Number(parts.hour),
    dom: Number(parts.day),
    month: Number(parts.month),
    dow: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday ?? ''),
  };
}

function dayMatches(c: Cron, t: { dom: number; month: number; dow: number }): boolean {
  if (!c.month.has(t.month)) return false;
  if (c.domStar || c.dowStar) return c.dom.has(t.dom) && c.dow.has(t.dow);
  return c.dom.has(t.dom) || c.dow.has(t.dow);
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The latest fire time of the schedule at or before `at`, looking back no further than `lookbackMs` (undefined if
 * none). Steps back an hour at a time through hours the schedule skips.
 */
function previousFire(c: Cron, timeZone: string, at: number, lookbackMs: number): number | undefined {
  let t = Math.floor(at / MINUTE) * MINUTE;
  const stop = at - lookbackMs;
  while (t >= stop) {
    const l = local(t, timeZone);
    if (!dayMatches(c, l) || !c.hour.has(l.hour)) {
      t -= (l.minute + 1) * MINUTE; // to the last minute of the previous hour
      continue;
    }
    if (c.minute.has(l.minute)) return t;
    t -= MINUTE;
  }
  return undefined;
}

/** The first fire time of the schedule after `after`, within `horizonMs` (undefined if none). */
function nextFire(c: Cron, timeZone: string, after: number, horizonMs: number): number | undefined {
  let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const stop = after + horizonMs;
  while (t <= stop) {
    const l = local(t, timeZone);
    if (!dayMatches(c, l) || !c.hour.has(l.hour)) {
      t += (60 - l.minute) * MINUTE; // to the first minute of the next hour
      continue;
    }
    if (c.minute.has(l.minute)) return t;
    t += MINUTE;
  }
  return undefined;
}

/** Where the window search stops: a schedule that fires less often than this opens "not within a year". */
const HORIZON_MS = 366 * 24 * HOUR;

export interface WindowState {
  open: boolean;
  /** When closed: the next time it may open (a deny window's end, or an allow window's start); absent if not within a year. */
  until?: number;
  /** When closed: why, for the rollout's message. */
  reason?: string;
}

/** Whether a rollout may hand out its revision at `now` under these windows, and if not, until when. */
export function windowState(windows: readonly RolloutWindow[], now: number): WindowState {
  if (!windows.length) return { open: true };
  const crons = windows.map((w) => ({ w, c: parseCron(w.schedule) }));
  let deniedUntil: number | undefined;
  for (const { w, c } of crons) {
    if (w.kind !== 'deny') continue;
    const fired = previousFire(c, w.timeZone ?? 'UTC', now, w.durationMs);
    if (fired !== undefined && now < fired + w.durationMs) deniedUntil = Math.max(deniedUntil ?? 0, fired + w.durationMs);
  }
  if (deniedUntil !== undefined) return { open: false, until: deniedUntil, reason: 'a deny window is open' };
  const allows = crons.filter(({ w }) => w.kind === 'allow');
  if (!allows.length) return { open: true };
  let next: number | undefined;
  for (const { w, c } of allows) {
    const fired = previousFire(c, w.timeZone ?? 'UTC', now, w.durationMs);
    if (fired !== undefined && now < fired + w.durationMs) return { open: true };
    const upcoming = nextFire(c, w.timeZone ?? 'UTC', now, HORIZON_MS);
    if (upcoming !== undefined) next = Math.min(next ?? upcoming, upcoming);
  }
  return { open: false, ...(next !== undefined ? { until: next } : {}), reason: 'no allow window is open' };
}
