// The MAPI property names the calendar, contacts, tasks and notes views read
// and write. Appointments, contacts, tasks and sticky notes keep most of their
// data in named properties (MS-OXOCAL, MS-OXOCNTC, MS-OXOTASK, MS-OXONOTE),
// whose tags differ per store: this module lists them once, with their
// property set GUIDs and types, and resolves them through ctx.names so that
// Outlook, Kopano-era clients and okapi's web app see the same items.

/** Property set GUIDs (MS-OXPROPS). */
export const PSETID = {
  Appointment: "00062002-0000-0000-C000-000000000046",
  Task: "00062003-0000-0000-C000-000000000046",
  Address: "00062004-0000-0000-C000-000000000046",
  Common: "00062008-0000-0000-C000-000000000046",
  Note: "0006200E-0000-0000-C000-000000000046",
  PublicStrings: "00020329-0000-0000-C000-000000000046",
};

/** MAPI property types used here. */
export const PT = { LONG: 3, DOUBLE: 5, BOOLEAN: 11, UNICODE: 31, SYSTIME: 64 };

/** Named properties of an appointment (IPM.Appointment). */
export const APPOINTMENT = {
  start: { guid: PSETID.Appointment, id: 0x820d, type: PT.SYSTIME }, // PidLidAppointmentStartWhole
  end: { guid: PSETID.Appointment, id: 0x820e, type: PT.SYSTIME }, // PidLidAppointmentEndWhole
  location: { guid: PSETID.Appointment, id: 0x8208, type: PT.UNICODE }, // PidLidLocation
  allDay: { guid: PSETID.Appointment, id: 0x8215, type: PT.BOOLEAN }, // PidLidAppointmentSubType
  busyStatus: { guid: PSETID.Appointment, id: 0x8205, type: PT.LONG }, // PidLidBusyStatus
  recurring: { guid: PSETID.Appointment, id: 0x8223, type: PT.BOOLEAN }, // PidLidRecurring
  reminderSet: { guid: PSETID.Common, id: 0x8503, type: PT.BOOLEAN }, // PidLidReminderSet
  reminderDelta: { guid: PSETID.Common, id: 0x8501, type: PT.LONG }, // PidLidReminderDelta (minutes)
  commonStart: { guid: PSETID.Common, id: 0x8516, type: PT.SYSTIME }, // PidLidCommonStart
  commonEnd: { guid: PSETID.Common, id: 0x8517, type: PT.SYSTIME }, // PidLidCommonEnd
  // okapi's own: the series' RFC 5545 RRULE (MAPI's binary PidLidAppointmentRecur is not written).
  rrule: { guid: PSETID.PublicStrings, name: "urn:okapi:rrule", type: PT.UNICODE },
};

/** Named properties of a contact (IPM.Contact). */
export const CONTACT = {
  email: { guid: PSETID.Address, id: 0x8083, type: PT.UNICODE }, // PidLidEmail1EmailAddress
  emailName: { guid: PSETID.Address, id: 0x8080, type: PT.UNICODE }, // PidLidEmail1DisplayName
  fileUnder: { guid: PSETID.Address, id: 0x8005, type: PT.UNICODE }, // PidLidFileUnder
};

/** Named properties of a task (IPM.Task). */
export const TASK = {
  status: { guid: PSETID.Task, id: 0x8101, type: PT.LONG }, // PidLidTaskStatus 0..2 used here
  percent: { guid: PSETID.Task, id: 0x8102, type: PT.DOUBLE }, // PidLidPercentComplete 0..1
  start: { guid: PSETID.Task, id: 0x8104, type: PT.SYSTIME }, // PidLidTaskStartDate
  due: { guid: PSETID.Task, id: 0x8105, type: PT.SYSTIME }, // PidLidTaskDueDate
  complete: { guid: PSETID.Task, id: 0x811c, type: PT.BOOLEAN }, // PidLidTaskComplete
  dateCompleted: { guid: PSETID.Task, id: 0x810f, type: PT.SYSTIME }, // PidLidTaskDateCompleted
};

/** Named properties of a sticky note (IPM.StickyNote). */
export const NOTE = {
  color: { guid: PSETID.Note, id: 0x8b00, type: PT.LONG }, // PidLidNoteColor
};

/** PidLidTaskStatus values. */
export const TASK_STATUS = { NOT_STARTED: 0, IN_PROGRESS: 1, COMPLETE: 2 };

/** Canonical spelling of a tag: well-known names as they are, hex upper-cased ("0x8001001F"). */
export function normTag(tag) {
  const t = String(tag);
  return /^0x[0-9a-f]{8}$/i.test(t) ? "0x" + t.slice(2).toUpperCase() : t;
}

/**
 * Resolves a table of named properties to tags through ctx.names (which calls
 * getIdsFromNames and caches). Answers an object with the same keys whose
 * values are tags such as "0x8001001F". If ctx.names is missing or fails, asks
 * the server directly (the wire field is `propType`) and caches the answer here.
 * @template {Object<string, {guid: string, id?: number, name?: string, type: number}>} T
 * @param {{names?: {tags: Function}, api: {call: Function}}} ctx
 * @param {T} defs
 * @returns {Promise<Object<keyof T, string>>}
 */
export async function resolveNamed(ctx, defs) {
  const keys = Object.keys(defs);
  const list = keys.map((k) => defs[k]);
  let answer = null;
  if (ctx.names && typeof ctx.names.tags === "function") {
    try {
      answer = await ctx.names.tags(list);
      if (answer && !Array.isArray(answer) && Array.isArray(answer.tags)) answer = answer.tags;
    } catch (e) {
      console.warn("ctx.names.tags failed, asking getIdsFromNames directly", e);
      answer = null;
    }
  }
  if (!Array.isArray(answer) || answer.length !== keys.length) answer = await directTags(ctx.api, list);
  const out = {};
  keys.forEach((k, i) => {
    const t = answer[i];
    out[k] = typeof t === "number" ? "0x" + (t >>> 0).toString(16).toUpperCase().padStart(8, "0") : normTag(t);
  });
  return out;
}

const directCache = new Map();
async function directTags(api, list) {
  const key = (d) => `${d.guid.toUpperCase()}|${d.id ?? ""}|${d.name ?? ""}|${d.type}`;
  const missing = list.filter((d) => !directCache.has(key(d)));
  if (missing.length) {
    const names = missing.map((d) => (d.name !== undefined
      ? { guid: d.guid, name: d.name, propType: d.type }
      : { guid: d.guid, id: d.id, propType: d.type }));
    const r = await api.call("getIdsFromNames", { names });
    missing.forEach((d, i) => directCache.set(key(d), r.tags[i]));
  }
  return list.map((d) => directCache.get(key(d)));
}

/**
 * Reads one property from a props object of queryRows/loadObject, whose keys
 * are well-known names or upper-case hex.
 */
export function prop(props, tag) {
  if (!props) return undefined;
  if (tag in props) return props[tag];
  const n = normTag(tag);
  if (n in props) return props[n];
  // A well-known tag asked for by hex comes back under its name and vice versa;
  // fall back to a case-insensitive scan.
  const lower = n.toLowerCase();
  for (const k of Object.keys(props)) if (k.toLowerCase() === lower) return props[k];
  return undefined;
}

/**
 * A loader for one view's tags: resolves them on first use, hands them to
 * `onResolved`, and after a failure tries again on the next call.
 * @param {{names?: {tags: Function}, api: {call: Function}}} ctx
 * @param {Object} defs the view's property definitions
 * @param {(tags: Object) => void} onResolved
 * @returns {() => Promise<Object>}
 */
export function tagLoader(ctx, defs, onResolved) {
  let pending = null;
  return function ensureTags() {
    if (!pending) {
      pending = resolveNamed(ctx, defs).then(
        (t) => {
          onResolved(t);
          return t;
        },
        (e) => {
          pending = null;
          throw e;
        },
      );
    }
    return pending;
  };
}
