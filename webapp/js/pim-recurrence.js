// Repeating appointments. okapi stores a series as one IPM.Appointment with an
// RFC 5545 RRULE string in the named property urn:okapi:rrule (MAPI's binary
// PidLidAppointmentRecur is out of scope), and the web app expands the
// occurrences that fall in the range on screen. Supported: FREQ=DAILY, WEEKLY
// (BYDAY) and MONTHLY (BYMONTHDAY), with INTERVAL and UNTIL or COUNT; other
// parts are ignored so that a rule written elsewhere still shows its base
// pattern.

import { addDays, startOfDay, startOfWeek, daysInMonth, formatDate } from "./pim-dates.js";

const DAY_CODES = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]; // index = Date.getDay()

/** Stops runaway expansion of a bad rule; far more than any screen shows. */
const MAX_STEPS = 100000;

/**
 * @typedef {Object} Rule
 * @property {"DAILY"|"WEEKLY"|"MONTHLY"} freq
 * @property {number} interval  1 or more
 * @property {number[]} byDay   weekdays (0 = Sunday) for WEEKLY; empty = the start's weekday
 * @property {number|null} byMonthDay day of month for MONTHLY; null = the start's day
 * @property {Date|null} until  last moment an occurrence may start
 * @property {number|null} count number of occurrences
 */

/**
 * Parses an RRULE (with or without the "RRULE:" prefix); null if absent or of
 * a frequency this module does not expand.
 * @param {string} text
 * @returns {Rule|null}
 */
export function parseRRule(text) {
  if (!text) return null;
  const parts = {};
  for (const p of String(text).replace(/^RRULE:/i, "").split(";")) {
    const i = p.indexOf("=");
    if (i > 0) parts[p.slice(0, i).trim().toUpperCase()] = p.slice(i + 1).trim();
  }
  const freq = (parts.FREQ || "").toUpperCase();
  if (!["DAILY", "WEEKLY", "MONTHLY"].includes(freq)) return null;
  const interval = Math.max(1, parseInt(parts.INTERVAL || "1", 10) || 1);
  const byDay = (parts.BYDAY || "")
    .split(",")
    .map((s) => DAY_CODES.indexOf(s.trim().toUpperCase().replace(/^[+-]?\d+/, "")))
    .filter((i) => i >= 0);
  const md = parseInt(parts.BYMONTHDAY || "", 10);
  const count = parseInt(parts.COUNT || "", 10);
  return {
    freq,
    interval,
    byDay: [...new Set(byDay)].sort((a, b) => a - b),
    byMonthDay: md >= 1 && md <= 31 ? md : null,
    until: parseUntil(parts.UNTIL),
    count: count > 0 ? count : null,
  };
}

function parseUntil(s) {
  if (!s) return null;
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(s.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  if (!m[4]) return new Date(y, mo, d, 23, 59, 59); // a DATE: the whole local day
  const [hh, mm, ss] = [Number(m[4]), Number(m[5]), Number(m[6])];
  return m[7] ? new Date(Date.UTC(y, mo, d, hh, mm, ss)) : new Date(y, mo, d, hh, mm, ss);
}

const pad = (n) => String(n).padStart(2, "0");

/**
 * Writes a rule as an RRULE value ("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;UNTIL=20270101T225959Z").
 * @param {Rule} rule
 * @returns {string}
 */
export function formatRRule(rule) {
  const parts = [`FREQ=${rule.freq}`, `INTERVAL=${Math.max(1, rule.interval || 1)}`];
  if (rule.freq === "WEEKLY" && rule.byDay && rule.byDay.length) {
    // Monday first, as RFC 5545's default WKST.
    const order = [1, 2, 3, 4, 5, 6, 0];
    parts.push("BYDAY=" + order.filter((d) => rule.byDay.includes(d)).map((d) => DAY_CODES[d]).join(","));
  }
  if (rule.freq === "MONTHLY" && rule.byMonthDay) parts.push(`BYMONTHDAY=${rule.byMonthDay}`);
  if (rule.until) {
    const u = rule.until;
    parts.push(`UNTIL=${u.getUTCFullYear()}${pad(u.getUTCMonth() + 1)}${pad(u.getUTCDate())}T${pad(u.getUTCHours())}${pad(u.getUTCMinutes())}${pad(u.getUTCSeconds())}Z`);
  } else if (rule.count) {
    parts.push(`COUNT=${rule.count}`);
  }
  return parts.join(";");
}

/** The same wall-clock time as `start` on local day `day`. */
function atTimeOf(day, start) {
  return new Date(day.getFullYear(), day.getMonth(), day.getDate(), start.getHours(), start.getMinutes(), start.getSeconds());
}

/**
 * Calls `visit(occurrenceStart)` for each occurrence in order, from the
 * series' start, until `visit` returns false or the rule ends.
 */
function walk(rule, start, visit) {
  let n = 0;
  const emit = (d) => {
    if (d < start) return true;
    if (rule.until && d > rule.until) return false;
    n += 1;
    if (rule.count && n > rule.count) return false;
    return visit(d) !== false;
  };
  const base = startOfDay(start);
  if (rule.freq === "DAILY") {
    for (let k = 0; k < MAX_STEPS; k++) {
      if (!emit(atTimeOf(addDays(base, k * rule.interval), start))) return;
    }
  } else if (rule.freq === "WEEKLY") {
    const days = rule.byDay.length ? rule.byDay : [start.getDay()];
    const offsets = days.map((d) => (d + 6) % 7).sort((a, b) => a - b); // Monday = 0
    const week0 = startOfWeek(start);
    for (let k = 0; k < MAX_STEPS; k++) {
      const wk = addDays(week0, k * 7 * rule.interval);
      for (const off of offsets) if (!emit(atTimeOf(addDays(wk, off), start))) return;
    }
  } else if (rule.freq === "MONTHLY") {
    const day = rule.byMonthDay || start.getDate();
    for (let k = 0; k < MAX_STEPS; k++) {
      const y = start.getFullYear();
      const m = start.getMonth() + k * rule.interval;
      const first = new Date(y, m, 1);
      // RFC 5545: a month without that day (the 31st in April) has no occurrence.
      if (day > daysInMonth(first.getFullYear(), first.getMonth())) continue;
      if (!emit(atTimeOf(new Date(first.getFullYear(), first.getMonth(), day), start))) return;
    }
  }
}

/**
 * Starts of the occurrences of a series that overlap [rangeStart, rangeEnd).
 * @param {Rule} rule
 * @param {Date} start the series' first start
 * @param {number} durationMs length of each occurrence
 * @param {Date} rangeStart
 * @param {Date} rangeEnd
 * @returns {Date[]}
 */
export function expand(rule, start, durationMs, rangeStart, rangeEnd) {
  const out = [];
  walk(rule, start, (d) => {
    if (d >= rangeEnd) return false;
    if (d.getTime() + Math.max(durationMs, 1) > rangeStart.getTime()) out.push(d);
    return true;
  });
  return out;
}

const WEEKDAY_NAMES = (() => {
  const f = new Intl.DateTimeFormat(undefined, { weekday: "short" });
  // 2023-01-01 was a Sunday.
  return Array.from({ length: 7 }, (_, i) => f.format(new Date(2023, 0, 1 + i)));
})();

/** Short weekday name for 0 (Sunday) .. 6, in the user's locale. */
export function weekdayName(i) {
  return WEEKDAY_NAMES[i];
}

/**
 * A sentence for people: "Every 2 weeks on Mon, Wed, until 1 Jan 2027".
 * @param {Rule} rule
 * @param {Date} start
 */
export function describe(rule, start) {
  if (!rule) return "";
  const unit = { DAILY: ["day", "days"], WEEKLY: ["week", "weeks"], MONTHLY: ["month", "months"] }[rule.freq];
  let s = rule.interval === 1 ? `Every ${unit[0]}` : `Every ${rule.interval} ${unit[1]}`;
  if (rule.freq === "WEEKLY") {
    const days = rule.byDay.length ? rule.byDay : [start.getDay()];
    s += " on " + [1, 2, 3, 4, 5, 6, 0].filter((d) => days.includes(d)).map(weekdayName).join(", ");
  } else if (rule.freq === "MONTHLY") {
    s += ` on day ${rule.byMonthDay || start.getDate()}`;
  }
  if (rule.until) s += `, until ${formatDate(rule.until)}`;
  else if (rule.count) s += `, ${rule.count} times`;
  return s;
}

