// Date arithmetic and formatting for the PIM views. MAPI keeps times as UTC
// (PT_SYSTIME, RFC 3339 on the wire); people see and pick local times. This
// module is the one place that converts between the two and that knows weeks
// start on Monday, so the calendar, tasks and recurrence code agree.

const MS_DAY = 86400000;

/** Local midnight of `d`'s day. */
export function startOfDay(d) {
  const x = new Date(d);
  x.setHours(0, 0, 0, 0);
  return x;
}

/** `d` plus `n` calendar days, keeping the local wall-clock time across DST changes. */
export function addDays(d, n) {
  const x = new Date(d);
  x.setDate(x.getDate() + n);
  return x;
}

/** `d` plus `n` months, clamped to the month's last day (Jan 31 + 1 = Feb 28/29). */
export function addMonths(d, n) {
  const x = new Date(d);
  const day = x.getDate();
  x.setDate(1);
  x.setMonth(x.getMonth() + n);
  x.setDate(Math.min(day, daysInMonth(x.getFullYear(), x.getMonth())));
  return x;
}

/** Number of days of month `m` (0-11) of year `y`. */
export function daysInMonth(y, m) {
  return new Date(y, m + 1, 0).getDate();
}

/** Monday 00:00 of `d`'s week. */
export function startOfWeek(d) {
  const x = startOfDay(d);
  return addDays(x, -((x.getDay() + 6) % 7));
}

/** First day of `d`'s month at 00:00. */
export function startOfMonth(d) {
  return new Date(d.getFullYear(), d.getMonth(), 1);
}

/** True if both dates fall on the same local day. */
export function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Whole local days from `a`'s day to `b`'s day (DST-safe). */
export function dayDiff(a, b) {
  return Math.round((startOfDay(b) - startOfDay(a)) / MS_DAY);
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** "YYYY-MM-DD" of the local day. */
export function ymd(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Parses "YYYY-MM-DD" as a local date; null if malformed. */
export function parseYmd(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || "");
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return isNaN(d) ? null : d;
}

/** Value for <input type="datetime-local">: "YYYY-MM-DDTHH:MM" local. */
export function toLocalInput(d) {
  return `${ymd(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Parses an <input type="datetime-local"> or <input type="date"> value as local time; null if empty or bad. */
export function fromLocalInput(s) {
  if (!s) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(s);
  if (!m) return null;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] || 0), Number(m[5] || 0));
}

/** PT_SYSTIME wire form: RFC 3339 UTC without milliseconds. */
export function toIso(d) {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Parses a PT_SYSTIME value; null if absent or bad. */
export function fromIso(s) {
  if (!s) return null;
  const d = new Date(s);
  return isNaN(d) ? null : d;
}

const fmt = (opts) => new Intl.DateTimeFormat(undefined, opts);
const F = {
  time: fmt({ hour: "numeric", minute: "2-digit" }),
  hour: fmt({ hour: "numeric" }),
  weekdayShort: fmt({ weekday: "short" }),
  weekdayLong: fmt({ weekday: "long" }),
  dayMonth: fmt({ day: "numeric", month: "short" }),
  dayMonthYear: fmt({ day: "numeric", month: "short", year: "numeric" }),
  monthYear: fmt({ month: "long", year: "numeric" }),
  full: fmt({ weekday: "long", day: "numeric", month: "long", year: "numeric" }),
  dateTime: fmt({ weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit" }),
};

/** "9:30 AM" or "09:30" as the locale writes it. */
export const formatTime = (d) => F.time.format(d);
/** The hour label of the time grid ("9 AM" / "09"). */
export const formatHour = (d) => F.hour.format(d);
/** "Mon" */
export const weekdayShort = (d) => F.weekdayShort.format(d);
/** "Monday" */
export const weekdayLong = (d) => F.weekdayLong.format(d);
/** "28 Nov" */
export const formatDayMonth = (d) => F.dayMonth.format(d);
/** "28 Nov 2026" */
export const formatDate = (d) => F.dayMonthYear.format(d);
/** "November 2026" */
export const formatMonthYear = (d) => F.monthYear.format(d);
/** "Saturday, 28 November 2026" */
export const formatFull = (d) => F.full.format(d);
/** "Sat, 28 Nov, 09:30" */
export const formatDateTime = (d) => F.dateTime.format(d);

/** "23 – 29 Nov 2026" style range label for [a, b] (b inclusive). */
export function formatRange(a, b) {
  if (sameDay(a, b)) return formatFull(a);
  if (a.getFullYear() !== b.getFullYear()) return `${formatDate(a)} – ${formatDate(b)}`;
  return `${formatDayMonth(a)} – ${formatDate(b)}`;
}
