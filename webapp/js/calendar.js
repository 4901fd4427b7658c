// The calendar view: day, week and month pages over the user's Calendar
// folder. Appointments are IPM.Appointment messages whose times, location,
// all-day flag, reminder and recurrence live in MAPI's own named properties
// (see pim-props.js), so items written here read correctly in other MAPI
// clients and vice versa. Attendees are the message's recipients (To =
// required, Cc = optional). Repeating series carry an RRULE and are expanded
// here for the range on screen (pim-recurrence.js).
//
// Route: #/calendar/<day|week|month>/<YYYY-MM-DD>. Moving between pages only
// rewrites the hash in place (history.replaceState), so the shell does not
// mount the view again for every click on "next".

import { h, replace, field, uid, ensureStylesheet, reportError, confirmed, openDialog, loading, setHash } from "./pim-ui.js";
import { APPOINTMENT, tagLoader, prop } from "./pim-props.js";
import {
  startOfDay, addDays, addMonths, startOfWeek, startOfMonth, sameDay, ymd, parseYmd,
  toLocalInput, fromLocalInput, toIso, fromIso, formatTime, formatHour, weekdayShort, formatFull,
  formatRange, formatMonthYear, formatDateTime,
} from "./pim-dates.js";
import { parseRRule, formatRRule, expand, describe, weekdayName } from "./pim-recurrence.js";

/** Height of one hour in the day and week grids, in CSS pixels (css/pim.css draws the lines to match). */
const HOUR_PX = 48;
/** Drag and keyboard moves snap to this many minutes. */
const SNAP_MIN = 15;
const VIEWS = ["day", "week", "month"];
const MS_MIN = 60000;
/** Below this width the week page shows one day (css/pim.css uses the same breakpoint). */
const NARROW = "(max-width: 699px)";

const REMINDERS = [
  ["", "None"], ["0", "At start time"], ["5", "5 minutes before"], ["15", "15 minutes before"],
  ["30", "30 minutes before"], ["60", "1 hour before"], ["120", "2 hours before"],
  ["1440", "1 day before"], ["10080", "1 week before"],
];
const BUSY = [["0", "Free"], ["1", "Tentative"], ["2", "Busy"], ["3", "Out of office"]];

/**
 * Mounts the calendar into `container`.
 * @param {HTMLElement} container
 * @param {{api: any, store: any, user: any, names: any, route: string[], navigate: Function, toast: Function, confirm: Function}} ctx
 * @returns {Promise<Function>} unmount
 */
export async function mount(container, ctx) {
  ensureStylesheet();
  const narrow = window.matchMedia(NARROW);
  const state = {
    view: VIEWS.includes(ctx.route[0]) ? ctx.route[0] : "week",
    date: parseYmd(ctx.route[1]) || startOfDay(new Date()),
    tags: null,
    occurrences: [],
    loadSeq: 0,
    scrollTop: null,
    dialog: null,
  };

  // ---- skeleton ------------------------------------------------------------
  const title = h("h2", { class: "pim-cal-title", "aria-live": "polite" });
  const viewButtons = VIEWS.map((v) => h("button", {
    type: "button", class: "btn pim-seg-btn", "aria-pressed": "false", dataset: { view: v },
    text: v[0].toUpperCase() + v.slice(1), onclick: () => go(state.date, v),
  }));
  const toolbar = h("div", { class: "toolbar pim-toolbar", role: "toolbar" },
    h("button", { type: "button", class: "btn", text: "Today", title: "Today (T)", onclick: () => go(startOfDay(new Date())) }),
    h("div", { class: "pim-nav" },
      h("button", { type: "button", class: "btn btn-icon", "aria-label": "Previous", title: "Previous (←)", text: "‹", onclick: () => step(-1) }),
      h("button", { type: "button", class: "btn btn-icon", "aria-label": "Next", title: "Next (→)", text: "›", onclick: () => step(1) })),
    title,
    h("div", { class: "pim-spacer" }),
    h("div", { class: "pim-seg", role: "group", "aria-label": "View" }, viewButtons),
    h("button", { type: "button", class: "btn btn-primary", text: "New appointment", onclick: () => newAppointment() }));
  const body = h("div", { class: "pim-cal-body" });
  // No aria-label naming "Calendar": it contains "end", and tests find the End field by label.
  const root = h("section", { class: "pim pim-cal" }, toolbar, body);
  replace(container, root);

  const effectiveView = () => (state.view === "week" && narrow.matches ? "day" : state.view);

  function range() {
    const v = effectiveView();
    if (v === "day") {
      const s = startOfDay(state.date);
      return { start: s, end: addDays(s, 1) };
    }
    if (v === "week") {
      const s = startOfWeek(state.date);
      return { start: s, end: addDays(s, 7) };
    }
    const s = startOfWeek(startOfMonth(state.date));
    return { start: s, end: addDays(s, 42) };
  }

  function go(date, view = state.view) {
    if (view !== state.view) state.scrollTop = null;
    state.date = startOfDay(date);
    state.view = view;
    setHash(`#/calendar/${state.view}/${ymd(state.date)}`);
    load();
  }

  function step(dir) {
    const v = effectiveView();
    if (v === "day") go(addDays(state.date, dir));
    else if (v === "week") go(addDays(state.date, 7 * dir));
    else go(addMonths(startOfMonth(state.date), dir));
  }

  function renderHeader() {
    const v = effectiveView();
    const { start, end } = range();
    title.textContent = v === "day" ? formatFull(start) : v === "week" ? formatRange(start, addDays(end, -1)) : formatMonthYear(state.date);
    for (const b of viewButtons) b.setAttribute("aria-pressed", String(b.dataset.view === v));
  }

  // ---- data ----------------------------------------------------------------
  /** The view's tags, resolved once; a failure is retried on the next call. */
  const ensureTags = tagLoader(ctx, APPOINTMENT, (t) => (state.tags = t));

  async function load() {
    renderHeader();
    const seq = ++state.loadSeq;
    const { start, end } = range();
    if (!state.occurrences.length) replace(body, loading("Loading calendar…"));
    else body.setAttribute("aria-busy", "true");
    try {
      const T = await ensureTags();
      const r = await ctx.api.call("queryRows", {
        folder: ctx.store.calendar,
        columns: ["PR_SUBJECT", "PR_MESSAGE_CLASS", "PR_START_DATE", "PR_END_DATE", T.start, T.end, T.location, T.allDay, T.recurring, T.rrule, T.busyStatus],
        sort: [{ tag: T.start }],
        restriction: {
          or: [
            { and: [{ compare: { tag: T.start, op: "<", value: toIso(end) } }, { compare: { tag: T.end, op: ">", value: toIso(start) } }] },
            { and: [{ compare: { tag: T.recurring, op: "=", value: true } }, { compare: { tag: T.start, op: "<", value: toIso(end) } }] },
          ],
        },
        limit: 5000,
      });
      if (seq !== state.loadSeq) return;
      state.occurrences = occurrences(r.rows.map((row) => appointmentFrom(row.entryId, row.props, T)), start, end);
      render();
    } catch (e) {
      if (seq !== state.loadSeq) return;
      reportError(ctx, "Could not load the calendar", e);
      state.occurrences = [];
      render();
    } finally {
      body.removeAttribute("aria-busy");
    }
  }

  function render() {
    renderHeader();
    const prevScroll = body.querySelector(".pim-tg-scroll");
    if (prevScroll) state.scrollTop = prevScroll.scrollTop;
    const { start, end } = range();
    const v = effectiveView();
    if (v === "month") replace(body, monthGrid(start));
    else {
      const days = [];
      for (let d = start; d < end; d = addDays(d, 1)) days.push(d);
      replace(body, timeGrid(days));
      const scroll = body.querySelector(".pim-tg-scroll");
      scroll.scrollTop = state.scrollTop ?? firstScroll(days);
      // Keep the header columns over the body columns when a scrollbar takes room.
      body.firstChild.style.setProperty("--pim-scrollbar", `${scroll.offsetWidth - scroll.clientWidth}px`);
    }
  }

  /** Initial scroll of a time grid: the earliest timed item of the page, or 7:00. */
  function firstScroll(days) {
    let min = 7 * 60;
    for (const o of state.occurrences) {
      if (o.appt.allDay) continue;
      if (days.some((d) => sameDay(d, o.start))) min = Math.min(min, o.start.getHours() * 60 + o.start.getMinutes());
    }
    return Math.max(0, (min - 30) * HOUR_PX / 60);
  }

  // ---- day and week: the time grid -------------------------------------------
  function timeGrid(days) {
    const today = new Date();
    const grid = h("div", { class: "pim-tg" + (days.length === 1 ? " pim-tg-single" : "") });
    grid.style.setProperty("--pim-days", String(days.length));

    const head = h("div", { class: "pim-tg-head" }, h("div", { class: "pim-tg-gutter" }));
    const allDayRow = h("div", { class: "pim-tg-allday" }, h("div", { class: "pim-tg-gutter pim-tg-allday-label", text: "All day" }));
    const hours = h("div", { class: "pim-tg-hours", "aria-hidden": "true" });
    for (let i = 1; i < 24; i++) {
      const lbl = h("span", { class: "pim-tg-hour", text: formatHour(new Date(2000, 0, 1, i)) });
      lbl.style.top = `${i * HOUR_PX}px`;
      hours.append(lbl);
    }
    hours.style.height = `${24 * HOUR_PX}px`;
    const cols = [];
    const bodyRow = h("div", { class: "pim-tg-grid" }, hours);

    days.forEach((day, i) => {
      const isToday = sameDay(day, today);
      head.append(h("div", { class: "pim-tg-dayhead" + (isToday ? " pim-today" : "") },
        h("button", {
          type: "button", class: "pim-link", "aria-label": formatFull(day) + (isToday ? " (today)" : ""),
          "aria-current": isToday ? "date" : null, onclick: () => go(day, "day"),
        }, h("span", { class: "pim-wd", text: weekdayShort(day) }), h("span", { class: "pim-dn", text: String(day.getDate()) }))));

      const allCell = h("div", { class: "pim-tg-allday-cell" + (isToday ? " pim-today" : ""), dataset: { day: ymd(day) } });
      allCell.addEventListener("click", (e) => {
        if (e.target === allCell) newAppointment({ start: day, allDay: true });
      });
      for (const o of state.occurrences) {
        if (!o.appt.allDay) continue;
        if (o.start < addDays(day, 1) && o.end > day) allCell.append(chip(o));
      }
      allDayRow.append(allCell);

      const col = h("div", {
        class: "pim-tg-col" + (isToday ? " pim-today" : ""), dataset: { day: ymd(day), index: String(i) },
        role: "group", "aria-label": formatFull(day),
      });
      col.style.height = `${24 * HOUR_PX}px`;
      col.addEventListener("click", (e) => {
        if (e.target !== col) return;
        const min = Math.floor((e.offsetY / HOUR_PX) * 2) * 30;
        const s = new Date(day.getFullYear(), day.getMonth(), day.getDate(), 0, min);
        newAppointment({ start: s, end: new Date(s.getTime() + 60 * MS_MIN) });
      });
      for (const seg of layoutDay(day)) col.append(eventBlock(seg, day, cols));
      if (isToday) {
        const now = h("div", { class: "pim-now", "aria-hidden": "true" });
        now.style.top = `${(today.getHours() * 60 + today.getMinutes()) * HOUR_PX / 60}px`;
        col.append(now);
      }
      cols.push(col);
      bodyRow.append(col);
    });
    const scroll = h("div", { class: "pim-tg-scroll" }, bodyRow);
    grid.append(head, allDayRow, scroll);
    return grid;
  }

  /** Timed segments of `day` with their overlap column and column count. */
  function layoutDay(day) {
    const dayEnd = addDays(day, 1);
    const segs = state.occurrences
      .filter((o) => !o.appt.allDay && o.start < dayEnd && o.end > day)
      .map((o) => ({ occ: o, s: Math.max(o.start, day), e: Math.min(Math.max(o.end, o.start.getTime() + 15 * MS_MIN), dayEnd) }))
      .sort((a, b) => a.s - b.s || b.e - a.e);
    let cluster = [];
    let clusterEnd = 0;
    let columns = [];
    const close = () => {
      for (const c of cluster) c.n = columns.length;
      cluster = [];
      columns = [];
    };
    for (const seg of segs) {
      if (cluster.length && seg.s >= clusterEnd) close();
      let col = columns.findIndex((end) => end <= seg.s);
      if (col < 0) {
        col = columns.length;
        columns.push(seg.e);
      } else columns[col] = seg.e;
      seg.col = col;
      cluster.push(seg);
      clusterEnd = Math.max(clusterEnd, seg.e);
    }
    close();
    return segs;
  }

  function eventBlock(seg, day, cols) {
    const o = seg.occ;
    const a = o.appt;
    const top = ((seg.s - day) / MS_MIN) * HOUR_PX / 60;
    const height = Math.max(((seg.e - seg.s) / MS_MIN) * HOUR_PX / 60 - 2, 18);
    const timeText = h("span", { class: "pim-ev-time", text: `${formatTime(o.start)} – ${formatTime(o.end)}` });
    // The accessible name is the visible text (no aria-label: tests and screen
    // readers find form fields by label, and subjects must not collide with them).
    const el = h("button", {
      type: "button",
      class: "pim-ev" + (a.recurring ? " pim-ev-recurring" : "") + (height < 36 ? " pim-ev-short" : "") + busyClass(a),
      title: label(o),
      dataset: { entryId: a.entryId },
    },
    h("span", { class: "pim-ev-subject", text: a.subject || "(no subject)" }),
    timeText,
    a.location ? h("span", { class: "pim-ev-loc", text: a.location }) : null);
    el.style.top = `${top}px`;
    el.style.height = `${height}px`;
    el.style.left = `calc(${(seg.col / seg.n) * 100}% + 2px)`;
    el.style.width = `calc(${100 / seg.n}% - 4px)`;

    let suppressClick = false;
    el.addEventListener("click", () => {
      if (suppressClick) {
        suppressClick = false;
        return;
      }
      editAppointment(o);
    });
    el.addEventListener("keydown", (e) => {
      if (!e.altKey || !["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].includes(e.key)) return;
      e.preventDefault();
      e.stopPropagation();
      if (a.recurring) return ctx.toast("Change a repeating series' times in its dialog.", "info");
      const delta = { ArrowUp: -SNAP_MIN * MS_MIN, ArrowDown: SNAP_MIN * MS_MIN }[e.key] || 0;
      const days = { ArrowLeft: -1, ArrowRight: 1 }[e.key] || 0;
      moveTo(a, new Date(addDays(a.start, days).getTime() + delta), true);
    });
    // Drag the bottom edge to change the end (single appointments ending on this day).
    if (!a.recurring && seg.e === o.end.getTime()) {
      const grip = h("span", { class: "pim-ev-resize", "aria-hidden": "true" });
      el.append(grip);
      grip.addEventListener("pointerdown", (e) => {
        if (e.button !== 0) return;
        e.stopPropagation();
        const startY = e.clientY;
        const baseH = el.offsetHeight;
        let newEnd = o.end;
        grip.setPointerCapture(e.pointerId);
        el.classList.add("pim-dragging");
        const move = (ev) => {
          const dMin = Math.round((ev.clientY - startY) / (HOUR_PX / 60) / SNAP_MIN) * SNAP_MIN;
          newEnd = new Date(Math.max(o.start.getTime() + SNAP_MIN * MS_MIN, o.end.getTime() + dMin * MS_MIN));
          const dayEnd = addDays(day, 1);
          if (newEnd > dayEnd) newEnd = dayEnd;
          el.style.height = `${Math.max(18, baseH + ((newEnd - o.end) / MS_MIN) * HOUR_PX / 60)}px`;
          timeText.textContent = `${formatTime(o.start)} – ${formatTime(newEnd)}`;
        };
        const up = () => {
          grip.removeEventListener("pointermove", move);
          grip.removeEventListener("pointerup", up);
          grip.removeEventListener("pointercancel", up);
          el.classList.remove("pim-dragging");
          suppressClick = true;
          setTimeout(() => { suppressClick = false; }, 0);
          if (newEnd.getTime() === o.end.getTime()) render();
          else moveTo(a, a.start, false, newEnd);
        };
        grip.addEventListener("pointermove", move);
        grip.addEventListener("pointerup", up);
        grip.addEventListener("pointercancel", up);
      });
    }
    el.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || a.recurring) return;
      const startX = e.clientX;
      const startY = e.clientY;
      const origIndex = cols.indexOf(el.parentElement);
      let dragging = false;
      let newStart = o.start;
      el.setPointerCapture(e.pointerId);
      const move = (ev) => {
        if (!dragging && Math.hypot(ev.clientX - startX, ev.clientY - startY) < 5) return;
        if (!dragging) {
          dragging = true;
          el.classList.add("pim-dragging");
          el.style.left = "2px";
          el.style.width = "calc(100% - 4px)";
        }
        let idx = cols.findIndex((c) => {
          const r = c.getBoundingClientRect();
          return ev.clientX >= r.left && ev.clientX < r.right;
        });
        if (idx < 0) idx = cols.indexOf(el.parentElement);
        const dMin = Math.round((ev.clientY - startY) / (HOUR_PX / 60) / SNAP_MIN) * SNAP_MIN;
        newStart = new Date(addDays(o.start, idx - origIndex).getTime() + dMin * MS_MIN);
        if (cols[idx] !== el.parentElement) cols[idx].append(el);
        const colDay = parseYmd(cols[idx].dataset.day);
        el.style.top = `${((newStart - colDay) / MS_MIN) * HOUR_PX / 60}px`;
        timeText.textContent = `${formatTime(newStart)} – ${formatTime(new Date(newStart.getTime() + (o.end - o.start)))}`;
      };
      const up = () => {
        el.removeEventListener("pointermove", move);
        el.removeEventListener("pointerup", up);
        el.removeEventListener("pointercancel", up);
        if (!dragging) return;
        suppressClick = true;
        setTimeout(() => { suppressClick = false; }, 0);
        el.classList.remove("pim-dragging");
        if (newStart.getTime() === o.start.getTime()) render();
        else moveTo(a, newStart, false);
      };
      el.addEventListener("pointermove", move);
      el.addEventListener("pointerup", up);
      el.addEventListener("pointercancel", up);
    });
    return el;
  }

  /** A one-line item: all-day items in the grid, everything in the month view. */
  function chip(o) {
    const a = o.appt;
    return h("button", {
      type: "button",
      class: "pim-chip" + (a.allDay ? " pim-chip-allday" : "") + (a.recurring ? " pim-ev-recurring" : "") + busyClass(a),
      title: label(o), dataset: { entryId: a.entryId },
      onclick: (e) => {
        e.stopPropagation();
        editAppointment(o);
      },
    },
    a.allDay ? null : h("span", { class: "pim-chip-time", text: formatTime(o.start) }),
    h("span", { class: "pim-chip-subject", text: a.subject || "(no subject)" }));
  }

  // ---- month -----------------------------------------------------------------
  function monthGrid(start) {
    const today = new Date();
    const month = state.date.getMonth();
    const maxChips = narrow.matches ? 2 : 3;
    const grid = h("div", { class: "pim-month", role: "grid", "aria-label": formatMonthYear(state.date) });
    const headRow = h("div", { class: "pim-month-head", role: "row" });
    for (let i = 0; i < 7; i++) headRow.append(h("div", { class: "pim-month-wd", role: "columnheader", text: weekdayShort(addDays(start, i)) }));
    grid.append(headRow);
    for (let w = 0; w < 6; w++) {
      const row = h("div", { class: "pim-month-row", role: "row" });
      for (let i = 0; i < 7; i++) {
        const day = addDays(start, w * 7 + i);
        const isToday = sameDay(day, today);
        const items = state.occurrences
          .filter((o) => o.start < addDays(day, 1) && (o.end > day || (o.end.getTime() === o.start.getTime() && sameDay(o.start, day))))
          .sort((a, b) => Number(b.appt.allDay) - Number(a.appt.allDay) || a.start - b.start);
        const cell = h("div", {
          class: "pim-month-cell" + (day.getMonth() !== month ? " pim-outside" : "") + (isToday ? " pim-today" : ""),
          role: "gridcell", dataset: { day: ymd(day) },
        },
        h("button", {
          type: "button", class: "pim-month-dn", text: String(day.getDate()),
          "aria-label": formatFull(day) + (items.length ? `, ${items.length} item${items.length > 1 ? "s" : ""}` : ""),
          "aria-current": isToday ? "date" : null, onclick: () => go(day, "day"),
        }),
        items.slice(0, maxChips).map(chip),
        items.length > maxChips ? h("button", {
          type: "button", class: "pim-more", text: `+${items.length - maxChips} more`, onclick: () => go(day, "day"),
        }) : null);
        cell.addEventListener("click", (e) => {
          if (e.target === cell) newAppointment({ start: new Date(day.getFullYear(), day.getMonth(), day.getDate(), 9) });
        });
        row.append(cell);
      }
      grid.append(row);
    }
    return grid;
  }

  // ---- changes -----------------------------------------------------------------
  /** Saves new times: `newStart` keeps the length unless `endAt` gives a new end. */
  async function moveTo(a, newStart, keepFocus, endAt = null) {
    const T = state.tags;
    const newEnd = endAt || new Date(newStart.getTime() + (a.end - a.start));
    try {
      await ctx.api.call("saveObject", {
        entryId: a.entryId,
        props: {
          [T.start]: toIso(newStart), [T.end]: toIso(newEnd), [T.commonStart]: toIso(newStart), [T.commonEnd]: toIso(newEnd),
          PR_START_DATE: toIso(newStart), PR_END_DATE: toIso(newEnd),
        },
      });
      ctx.toast(endAt
        ? `“${a.subject || "(no subject)"}” now ends at ${formatTime(newEnd)}`
        : `Moved “${a.subject || "(no subject)"}” to ${formatDateTime(newStart)}`, "success");
    } catch (e) {
      reportError(ctx, "Could not move the appointment", e);
    }
    await load();
    if (keepFocus) {
      const again = body.querySelector(`.pim-ev[data-entry-id="${CSS.escape(a.entryId)}"]`);
      if (again) again.focus();
    }
  }

  async function newAppointment(defaults = {}) {
    try {
      await ensureTags();
    } catch (e) {
      return reportError(ctx, "The calendar is not available", e);
    }
    let start = defaults.start;
    if (!start) {
      // The next half hour on the day shown (today if it is on the page).
      const now = new Date();
      const base = sameDay(state.date, now) || effectiveView() !== "day" && range().start <= now && now < range().end ? now : new Date(state.date.getFullYear(), state.date.getMonth(), state.date.getDate(), 9);
      start = new Date(base);
      start.setSeconds(0, 0);
      start.setMinutes(base === now ? Math.ceil((now.getMinutes() + 1) / 30) * 30 : 0);
    }
    const end = defaults.end || new Date(start.getTime() + 60 * MS_MIN);
    openEditor(null, { start, end, allDay: !!defaults.allDay });
  }

  async function editAppointment(o) {
    let full;
    try {
      full = await ctx.api.call("loadObject", { entryId: o.appt.entryId });
    } catch (e) {
      return reportError(ctx, "Could not open the appointment", e);
    }
    openEditor(full, appointmentFrom(full.entryId, full.props, state.tags));
  }

  /** The appointment dialog; `full` is loadObject's answer or null for a new one. */
  function openEditor(full, a) {
    const T = state.tags;
    const isNew = !full;
    const rule = a.rrule ? parseRRule(a.rrule) : null;
    const props = full ? full.props : {};
    const recips = full ? full.recipients || [] : [];

    const subject = h("input", { type: "text", name: "subject", value: a.subject || "", autocomplete: "off" });
    const location = h("input", { type: "text", name: "location", value: a.location || "" });
    const allDay = h("input", { type: "checkbox", name: "allDay", checked: !!a.allDay });
    const startIn = h("input", { type: "datetime-local", name: "start", required: true });
    const endIn = h("input", { type: "datetime-local", name: "end", required: true });
    const setTimes = (s, e, whole) => {
      if (whole) {
        startIn.type = "date";
        endIn.type = "date";
        startIn.value = ymd(s);
        // All-day items end at the next midnight; people think of the last day.
        endIn.value = ymd(e > s ? addDays(e, sameDay(e, startOfDay(e)) && e.getHours() === 0 && e.getMinutes() === 0 ? -1 : 0) : s);
      } else {
        startIn.type = "datetime-local";
        endIn.type = "datetime-local";
        startIn.value = toLocalInput(s);
        endIn.value = toLocalInput(e);
      }
    };
    setTimes(a.start, a.end, !!a.allDay);
    let lastDuration = a.allDay ? 60 * MS_MIN : Math.max(0, a.end - a.start);
    let daysTouched = !!(rule && rule.freq === "WEEKLY");
    startIn.addEventListener("change", () => {
      // Keep the length when the start moves, as calendars do.
      const s = fromLocalInput(startIn.value);
      if (!s) return;
      if (!daysTouched) for (const b of dayBoxes) b.querySelector("input").checked = Number(b.querySelector("input").value) === s.getDay();
      if (allDay.checked) {
        const e = fromLocalInput(endIn.value);
        if (!e || e < s) endIn.value = ymd(s);
      } else endIn.value = toLocalInput(new Date(s.getTime() + lastDuration));
    });
    endIn.addEventListener("change", () => {
      const s = fromLocalInput(startIn.value);
      const e = fromLocalInput(endIn.value);
      if (s && e && !allDay.checked && e >= s) lastDuration = e - s;
    });
    allDay.addEventListener("change", () => {
      const s = fromLocalInput(startIn.value) || a.start;
      if (allDay.checked) setTimes(startOfDay(s), addDays(startOfDay(fromLocalInput(endIn.value) || s), 1), true);
      else {
        const st = new Date(s.getFullYear(), s.getMonth(), s.getDate(), 9);
        setTimes(st, new Date(st.getTime() + lastDuration), false);
      }
    });

    const fmtRecip = (r) => (r.displayName && r.displayName !== r.address ? `${r.displayName} <${r.address}>` : r.address);
    const required = h("input", { type: "text", name: "attendees", value: recips.filter((r) => r.recipientType !== 2).map(fmtRecip).join(", "), placeholder: "name@example.org, …", autocomplete: "off" });
    const optional = h("input", { type: "text", name: "optional", value: recips.filter((r) => r.recipientType === 2).map(fmtRecip).join(", "), placeholder: "name@example.org, …", autocomplete: "off" });

    const galLists = [required, optional].map((input) => suggestAddresses(ctx, input));

    const currentReminder = isNew ? "15" : prop(props, T.reminderSet) ? String(prop(props, T.reminderDelta) ?? 15) : "";
    const reminderOpts = REMINDERS.some(([v]) => v === currentReminder) ? REMINDERS : [...REMINDERS, [currentReminder, `${currentReminder} minutes before`]];
    const reminder = h("select", { name: "reminder" }, reminderOpts.map(([v, t]) => h("option", { value: v, text: t })));
    reminder.value = currentReminder;
    const busy = h("select", { name: "busy" }, BUSY.map(([v, t]) => h("option", { value: v, text: t })));
    busy.value = String(prop(props, T.busyStatus) ?? (a.allDay ? 0 : 2));

    // Repeat: frequency, interval, weekdays, and how the series stops.
    const repeat = h("select", { name: "repeat" },
      h("option", { value: "", text: "Does not repeat" }), h("option", { value: "DAILY", text: "Daily" }),
      h("option", { value: "WEEKLY", text: "Weekly" }), h("option", { value: "MONTHLY", text: "Monthly" }));
    repeat.value = rule ? rule.freq : "";
    const interval = h("input", { type: "number", name: "interval", min: "1", max: "99", value: String(rule ? rule.interval : 1) });
    const unit = h("span", { class: "pim-unit" });
    const dayBoxes = [1, 2, 3, 4, 5, 6, 0].map((d) => {
      const cb = h("input", { type: "checkbox", value: String(d), checked: rule && rule.freq === "WEEKLY" ? (rule.byDay.length ? rule.byDay.includes(d) : a.start.getDay() === d) : a.start.getDay() === d });
      const id = uid("wd");
      cb.id = id;
      return h("span", { class: "pim-daybox" }, cb, h("label", { for: id, text: weekdayName(d) }));
    });
    const days = h("fieldset", { class: "pim-days", onchange: () => { daysTouched = true; } }, h("legend", { text: "On days" }), dayBoxes);
    const stop = h("select", { name: "stop" }, h("option", { value: "never", text: "Never" }), h("option", { value: "until", text: "On a date" }), h("option", { value: "count", text: "After a number of times" }));
    stop.value = rule && rule.until ? "until" : rule && rule.count ? "count" : "never";
    const stopDate = h("input", { type: "date", name: "stopDate", value: rule && rule.until ? ymd(rule.until) : ymd(addMonths(a.start, 3)) });
    const times = h("input", { type: "number", name: "times", min: "1", max: "999", value: String(rule && rule.count ? rule.count : 10) });
    const stopDateField = field("Stop date", stopDate);
    const timesField = field("Times", times);
    const summary = h("p", { class: "pim-hint", "aria-live": "polite" });
    const repeatBox = h("div", { class: "pim-repeat" },
      h("div", { class: "pim-row" }, field("Every", h("span", { class: "pim-inline" }, interval, unit), "pim-every"), field("Stop", stop), stopDateField, timesField),
      days, summary);
    // field() labels the wrapper span; point the label at the number input itself.
    repeatBox.querySelector(".pim-every label").htmlFor = interval.id = uid("f");
    const syncRepeat = () => {
      const f = repeat.value;
      repeatBox.hidden = !f;
      days.hidden = f !== "WEEKLY";
      stopDateField.hidden = stop.value !== "until";
      timesField.hidden = stop.value !== "count";
      const n = Number(interval.value) || 1;
      unit.textContent = { DAILY: n === 1 ? "day" : "days", WEEKLY: n === 1 ? "week" : "weeks", MONTHLY: n === 1 ? "month" : "months" }[f] || "";
      const r = readRule();
      summary.textContent = r ? describe(r, fromLocalInput(startIn.value) || a.start) : "";
    };
    const readRule = () => {
      if (!repeat.value) return null;
      const s = fromLocalInput(startIn.value) || a.start;
      const r = { freq: repeat.value, interval: Math.max(1, Math.min(99, Number(interval.value) || 1)), byDay: [], byMonthDay: null, until: null, count: null };
      if (r.freq === "WEEKLY") {
        r.byDay = dayBoxes.map((b) => b.querySelector("input")).filter((c) => c.checked).map((c) => Number(c.value));
        if (!r.byDay.length) r.byDay = [s.getDay()];
      }
      if (r.freq === "MONTHLY") r.byMonthDay = s.getDate();
      if (stop.value === "until") {
        const d = fromLocalInput(stopDate.value);
        if (d) r.until = new Date(d.getFullYear(), d.getMonth(), d.getDate(), 23, 59, 59);
      } else if (stop.value === "count") r.count = Math.max(1, Number(times.value) || 1);
      return r;
    };
    for (const el of [repeat, interval, stop, stopDate, times, startIn, ...dayBoxes.map((b) => b.querySelector("input"))]) {
      el.addEventListener("change", syncRepeat);
      el.addEventListener("input", syncRepeat);
    }
    syncRepeat();

    const notes = h("textarea", { name: "notes", rows: "3", value: prop(props, "PR_BODY") || "" });

    const saveBtn = h("button", { type: "submit", class: "btn btn-primary", text: "Save" });
    const actions = [
      isNew ? null : h("button", { type: "button", class: "btn btn-danger pim-left", text: "Delete", onclick: () => remove() }),
      h("button", { type: "button", class: "btn", text: "Cancel", onclick: () => dlg.close() }),
      saveBtn,
    ];
    const dlg = openDialog({
      title: isNew ? "New appointment" : "Edit appointment",
      className: "pim-appt-dialog",
      body: [
        field("Subject", subject),
        field("Location", location),
        h("div", { class: "pim-row" }, field("Start", startIn), field("End", endIn)),
        h("div", { class: "pim-row pim-row-tight" },
          h("div", { class: "pim-check" }, allDay, h("label", { for: allDay.id = uid("f"), text: "All day" })),
          field("Show as", busy, "pim-compact"), field("Reminder", reminder, "pim-compact")),
        field("Repeat", repeat),
        repeatBox,
        a.recurring && !isNew ? h("p", { class: "pim-hint", text: "Changes apply to every occurrence of the series." }) : null,
        field("Attendees", required),
        field("Optional", optional),
        galLists,
        field("Notes", notes),
      ],
      actions,
      onSubmit: save,
      onClose: () => { state.dialog = null; },
    });
    state.dialog = dlg;

    async function save() {
      dlg.showError("");
      const whole = allDay.checked;
      let s = fromLocalInput(startIn.value);
      let e = fromLocalInput(endIn.value);
      if (!s || !e) return dlg.showError("Enter a start and an end.");
      if (whole) {
        s = startOfDay(s);
        e = addDays(startOfDay(e), 1);
      }
      if (e < s) return dlg.showError("The end is before the start.");
      const r = readRule();
      if (r && r.until && r.until < s) return dlg.showError("The series stops before it starts.");
      let recipients;
      try {
        recipients = [...parseAddresses(required.value, 1), ...parseAddresses(optional.value, 2)];
      } catch (err) {
        return dlg.showError(err.message);
      }
      const p = {
        PR_MESSAGE_CLASS: "IPM.Appointment",
        PR_SUBJECT: subject.value.trim(),
        PR_BODY: notes.value,
        PR_START_DATE: toIso(s), PR_END_DATE: toIso(e),
        [T.start]: toIso(s), [T.end]: toIso(e), [T.commonStart]: toIso(s), [T.commonEnd]: toIso(e),
        [T.location]: location.value.trim(),
        [T.allDay]: whole,
        [T.busyStatus]: Number(busy.value),
        [T.reminderSet]: reminder.value !== "",
        [T.reminderDelta]: reminder.value === "" ? 15 : Number(reminder.value),
        [T.recurring]: !!r,
      };
      const deleteProps = [];
      if (r) p[T.rrule] = formatRRule(r);
      else if (!isNew) deleteProps.push(T.rrule);
      const req = isNew ? { folder: ctx.store.calendar, props: p, recipients } : { entryId: full.entryId, props: p, recipients };
      if (deleteProps.length) req.deleteProps = deleteProps;
      dlg.setBusy(true);
      try {
        await ctx.api.call("saveObject", req);
      } catch (err) {
        dlg.setBusy(false);
        dlg.showError(err.message);
        return reportError(ctx, "Could not save the appointment", err);
      }
      dlg.close();
      ctx.toast(isNew ? "Appointment created" : "Appointment saved", "success");
      // Show the page holding the (new) start so the user sees what they saved.
      const { start, end } = range();
      if (!r && (s >= end || e <= start) && !(s < end && e > start)) go(s);
      else load();
    }

    async function remove() {
      const what = a.recurring ? "this repeating appointment and all its occurrences" : `“${a.subject || "(no subject)"}”`;
      if (!(await confirmed(ctx, `Delete ${what}?`))) return;
      dlg.setBusy(true);
      try {
        await ctx.api.call("deleteObjects", { entryIds: [full.entryId] });
      } catch (err) {
        dlg.setBusy(false);
        return reportError(ctx, "Could not delete the appointment", err);
      }
      dlg.close();
      ctx.toast("Appointment deleted", "success");
      load();
    }
  }

  // ---- keyboard and resizing -------------------------------------------------------
  const onKey = (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.closest("input, textarea, select, dialog")) return;
    const k = e.key;
    if (k === "t") go(startOfDay(new Date()));
    else if (k === "d" || k === "w" || k === "m") go(state.date, { d: "day", w: "week", m: "month" }[k]);
    else if (k === "n") newAppointment();
    else if (k === "ArrowLeft") step(-1);
    else if (k === "ArrowRight") step(1);
    else return;
    e.preventDefault();
  };
  root.addEventListener("keydown", onKey);
  const onResize = () => {
    if (state.view === "week") load();
  };
  narrow.addEventListener("change", onResize);
  // Move the "now" line and today's highlight along.
  const clock = setInterval(() => {
    if (!state.dialog && effectiveView() !== "month") render();
  }, 5 * 60000);

  setHash(`#/calendar/${state.view}/${ymd(state.date)}`);
  await load();

  const unmount = () => {
    state.loadSeq++;
    clearInterval(clock);
    narrow.removeEventListener("change", onResize);
    if (state.dialog) state.dialog.close();
  };
  /** The shell's hook for a new hash within this view (back/forward): answer true to stay mounted. */
  unmount.routeChanged = (parts) => {
    const view = VIEWS.includes(parts[0]) ? parts[0] : "week";
    const date = parseYmd(parts[1]) || startOfDay(new Date());
    if (view !== state.view || !sameDay(date, state.date)) go(date, view);
    return true;
  };
  return unmount;
}

/** An appointment from loadObject/queryRows properties. */
function appointmentFrom(entryId, p, T) {
  const start = fromIso(prop(p, T.start)) || fromIso(prop(p, "PR_START_DATE")) || new Date();
  let end = fromIso(prop(p, T.end)) || fromIso(prop(p, "PR_END_DATE"));
  if (!end || end < start) end = new Date(start.getTime() + 30 * MS_MIN);
  const rrule = prop(p, T.rrule) || "";
  const recurring = !!prop(p, T.recurring) && !!parseRRule(rrule);
  return {
    entryId,
    subject: prop(p, "PR_SUBJECT") || "",
    start,
    end,
    allDay: !!prop(p, T.allDay),
    location: prop(p, T.location) || "",
    busy: prop(p, T.busyStatus),
    recurring,
    rrule: recurring ? rrule : "",
  };
}

/** Occurrences of `appts` overlapping [start, end), series expanded. */
function occurrences(appts, start, end) {
  const out = [];
  for (const a of appts) {
    const dur = a.end - a.start;
    if (a.recurring) {
      for (const s of expand(parseRRule(a.rrule), a.start, dur, start, end)) out.push({ appt: a, start: s, end: new Date(s.getTime() + dur) });
    } else if (a.start < end && (a.end > start || (dur === 0 && a.start >= start))) {
      out.push({ appt: a, start: a.start, end: a.end });
    }
  }
  return out.sort((x, y) => x.start - y.start);
}

function busyClass(a) {
  return { 0: " pim-busy-free", 1: " pim-busy-tentative", 3: " pim-busy-oof" }[a.busy] || "";
}

function label(o) {
  const a = o.appt;
  const when = a.allDay ? "all day" : `${formatDateTime(o.start)} to ${sameDay(o.start, o.end) ? formatTime(o.end) : formatDateTime(o.end)}`;
  return `${a.subject || "(no subject)"}, ${when}${a.location ? ", " + a.location : ""}${a.recurring ? ", repeats" : ""}`;
}

/**
 * Offers people from the global address list (resolveNames) for the name
 * being typed after the last comma of an attendee field, through a <datalist>
 * whose options carry the whole new field value.
 * @param {{api: any}} ctx
 * @param {HTMLInputElement} input
 * @returns {HTMLDataListElement} to be placed in the document
 */
function suggestAddresses(ctx, input) {
  const list = h("datalist", { id: uid("gal") });
  input.setAttribute("list", list.id);
  let seq = 0;
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const value = input.value;
      const cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
      const head = cut >= 0 ? value.slice(0, cut + 1) + " " : "";
      const frag = value.slice(cut + 1).trim();
      if (frag.length < 2 || frag.includes("<")) return list.replaceChildren();
      const mine = ++seq;
      try {
        const r = await ctx.api.call("resolveNames", { names: [frag] });
        if (mine !== seq) return;
        list.replaceChildren(...(r.entries || []).filter((e) => e.address).slice(0, 8).map((e) =>
          h("option", { value: `${head}${e.displayName || e.address} <${e.address}>, ` })));
      } catch {
        list.replaceChildren(); // suggestions are a convenience; typing an address still works
      }
    }, 200);
  });
  return list;
}

/**
 * Parses "Ann Example <ann@example.org>, bob@example.org; …" into recipients.
 * @param {string} text
 * @param {number} type 1 required (To), 2 optional (Cc)
 */
function parseAddresses(text, type) {
  const out = [];
  for (const part of text.split(/[,;\n]/)) {
    const t = part.trim();
    if (!t) continue;
    const m = /^(.*?)\s*<([^<>\s]+)>$/.exec(t);
    const address = (m ? m[2] : t).trim();
    const displayName = (m ? m[1].replace(/^"|"$/g, "").trim() : "") || address;
    if (!/^[^@\s]+@[^@\s]+$/.test(address)) throw new Error(`“${t}” is not an email address.`);
    out.push({ recipientType: type, displayName, address });
  }
  return out;
}

