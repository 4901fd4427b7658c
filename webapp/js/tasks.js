// The tasks view: the user's Tasks folder as a to-do list. Tasks are IPM.Task
// messages whose status, progress, dates and completion live in the
// PSETID_Task named properties (MS-OXOTASK), so a task ticked off here is done
// in any MAPI client too. A quick-add field creates a task from one line; the
// dialog edits the rest.
//
// Route: #/tasks.

import { h, replace, field, ensureStylesheet, reportError, confirmed, openDialog, loading, emptyState, arrowKeys } from "./pim-ui.js";
import { TASK, TASK_STATUS, tagLoader, prop } from "./pim-props.js";
import { startOfDay, ymd, fromLocalInput, toIso, fromIso, formatDate, dayDiff } from "./pim-dates.js";

const FILTERS = [["active", "Active"], ["completed", "Completed"], ["all", "All"]];
const STATUS_TEXT = { 0: "Not started", 1: "In progress", 2: "Complete" };

/**
 * Mounts the tasks view into `container`.
 * @param {HTMLElement} container
 * @param {{api: any, store: any, names: any, toast: Function, confirm: Function}} ctx
 * @returns {Promise<Function>} unmount
 */
export async function mount(container, ctx) {
  ensureStylesheet();
  const state = { tags: null, tasks: [], filter: "active", loaded: false, alive: true, dialog: null, seq: 0 };

  const filterButtons = FILTERS.map(([key, text]) => h("button", {
    type: "button", class: "btn pim-seg-btn", "aria-pressed": String(key === state.filter), dataset: { filter: key }, text,
    onclick: () => {
      state.filter = key;
      render();
    },
  }));
  const quick = h("input", { type: "text", class: "input", placeholder: "Add a task and press Enter", autocomplete: "off", maxlength: "255" });
  quick.id = "pim-task-quick";
  const quickForm = h("form", { class: "pim-quickadd" },
    h("label", { class: "pim-sr", for: quick.id, text: "Add a task" }), quick,
    h("button", { type: "submit", class: "btn", text: "Add" }));
  quickForm.addEventListener("submit", (e) => {
    e.preventDefault();
    quickAdd();
  });
  const list = h("div", { class: "pim-tasks-list", role: "list", "aria-label": "Tasks" });
  const body = h("div", { class: "pim-tasks-body" }, list);
  const root = h("section", { class: "pim pim-tasks" },
    h("div", { class: "toolbar pim-toolbar", role: "toolbar" },
      h("h2", { class: "pim-view-title", text: "Tasks" }),
      h("div", { class: "pim-spacer" }),
      h("div", { class: "pim-seg", role: "group", "aria-label": "Show" }, filterButtons),
      h("button", { type: "button", class: "btn btn-primary", text: "New task", onclick: () => openEditor(null) })),
    quickForm, body);
  replace(container, root);
  arrowKeys(list, ".pim-task-open");

  /** The view's tags, resolved once; a failure is retried on the next call. */
  const ensureTags = tagLoader(ctx, TASK, (t) => (state.tags = t));

  async function load() {
    const seq = ++state.seq;
    if (!state.loaded) replace(list, loading("Loading tasks…"));
    try {
      const T = await ensureTags();
      const r = await ctx.api.call("queryRows", {
        folder: ctx.store.tasks,
        columns: ["PR_SUBJECT", "PR_MESSAGE_CLASS", T.status, T.percent, T.start, T.due, T.complete, T.dateCompleted],
        limit: 5000,
      });
      if (seq !== state.seq || !state.alive) return;
      state.tasks = r.rows.map((row) => taskFrom(row.entryId, row.props, T));
      state.loaded = true;
      render();
    } catch (e) {
      if (seq !== state.seq) return;
      reportError(ctx, "Could not load the tasks", e);
      replace(list, emptyState("Tasks could not be loaded", e.message));
    }
  }

  function render() {
    const focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest("[data-entry-id]") : null;
    const focusId = focused && list.contains(focused) ? focused.dataset.entryId : null;
    const active = state.tasks.filter((t) => !t.complete);
    const done = state.tasks.filter((t) => t.complete);
    for (const b of filterButtons) {
      const key = b.dataset.filter;
      b.setAttribute("aria-pressed", String(key === state.filter));
      b.textContent = `${FILTERS.find(([k]) => k === key)[1]} (${key === "active" ? active.length : key === "completed" ? done.length : state.tasks.length})`;
    }
    const byDue = (a, b) => (a.due ? a.due.getTime() : Infinity) - (b.due ? b.due.getTime() : Infinity) || a.subject.localeCompare(b.subject);
    const byDone = (a, b) => (b.dateCompleted ? b.dateCompleted.getTime() : 0) - (a.dateCompleted ? a.dateCompleted.getTime() : 0) || a.subject.localeCompare(b.subject);
    const shown = state.filter === "active" ? active.sort(byDue)
      : state.filter === "completed" ? done.sort(byDone)
        : [...active.sort(byDue), ...done.sort(byDone)];
    list.replaceChildren();
    if (!shown.length) {
      list.append(state.filter === "completed"
        ? emptyState("Nothing completed yet", "Tick a task's box when it is done.")
        : state.filter === "active" && state.tasks.length
          ? emptyState("All done", "Every task is complete.")
          : emptyState("No tasks", "Type one above and press Enter, or use “New task”."));
      return;
    }
    for (const t of shown) list.append(row(t));
    if (focusId) {
      const again = list.querySelector(`.pim-task-open[data-entry-id="${CSS.escape(focusId)}"]`);
      if (again) again.focus();
    }
  }

  function row(t) {
    const today = startOfDay(new Date());
    const overdue = !t.complete && t.due && t.due < today;
    const meta = h("span", { class: "pim-task-meta" });
    if (t.due) {
      const days = dayDiff(today, t.due);
      const text = days === 0 ? "Due today" : days === 1 ? "Due tomorrow" : days === -1 ? "Due yesterday" : `Due ${formatDate(t.due)}`;
      meta.append(h("span", { class: overdue ? "pim-overdue" : "", text: overdue ? `Overdue · ${text}` : text }));
    }
    if (t.complete && t.dateCompleted) meta.append(h("span", { text: `Completed ${formatDate(t.dateCompleted)}` }));
    else if (t.status === TASK_STATUS.IN_PROGRESS) meta.append(h("span", { text: `In progress · ${Math.round(t.percent * 100)}%` }));
    const check = h("input", { type: "checkbox", checked: t.complete, "aria-label": `Complete “${t.subject || "(no subject)"}”` });
    check.addEventListener("change", () => setComplete(t, check.checked, check));
    const progress = !t.complete && t.percent > 0 ? h("span", { class: "pim-progress", "aria-hidden": "true" }, h("span")) : null;
    if (progress) progress.firstChild.style.width = `${Math.round(t.percent * 100)}%`;
    return h("div", { class: "pim-task" + (t.complete ? " pim-done" : "") + (overdue ? " pim-is-overdue" : ""), role: "listitem" },
      check,
      h("button", { type: "button", class: "pim-task-open", dataset: { entryId: t.entryId }, onclick: () => openEditor(t) },
        h("span", { class: "pim-task-subject", text: t.subject || "(no subject)" }),
        meta.childNodes.length ? meta : null),
      progress,
      h("button", { type: "button", class: "btn btn-icon", "aria-label": `Delete “${t.subject || "(no subject)"}”`, title: "Delete", text: "×", onclick: () => remove(t) }));
  }

  function completionProps(complete, percentWhenOpen = 0) {
    const T = state.tags;
    if (complete) {
      return { props: { [T.complete]: true, [T.status]: TASK_STATUS.COMPLETE, [T.percent]: 1, [T.dateCompleted]: toIso(new Date()) }, deleteProps: [] };
    }
    return {
      props: { [T.complete]: false, [T.status]: percentWhenOpen > 0 ? TASK_STATUS.IN_PROGRESS : TASK_STATUS.NOT_STARTED, [T.percent]: percentWhenOpen },
      deleteProps: [T.dateCompleted],
    };
  }

  async function setComplete(t, complete, check) {
    const { props, deleteProps } = completionProps(complete, complete ? 1 : (t.percent >= 1 ? 0 : t.percent));
    try {
      await ctx.api.call("saveObject", { entryId: t.entryId, props, deleteProps });
      ctx.toast(complete ? `Completed “${t.subject}”` : `Reopened “${t.subject}”`, "success");
    } catch (e) {
      check.checked = !complete;
      return reportError(ctx, "Could not update the task", e);
    }
    await load();
  }

  async function quickAdd() {
    const subject = quick.value.trim();
    if (!subject) return;
    quick.disabled = true;
    try {
      const T = await ensureTags();
      await ctx.api.call("saveObject", {
        folder: ctx.store.tasks,
        props: { PR_MESSAGE_CLASS: "IPM.Task", PR_SUBJECT: subject, [T.status]: TASK_STATUS.NOT_STARTED, [T.percent]: 0, [T.complete]: false },
      });
      quick.value = "";
      if (state.filter === "completed") state.filter = "active";
      await load();
    } catch (e) {
      reportError(ctx, "Could not add the task", e);
    } finally {
      quick.disabled = false;
      quick.focus();
    }
  }

  async function remove(t) {
    if (!(await confirmed(ctx, `Delete the task “${t.subject || "(no subject)"}”?`))) return false;
    try {
      await ctx.api.call("deleteObjects", { entryIds: [t.entryId] });
    } catch (e) {
      reportError(ctx, "Could not delete the task", e);
      return false;
    }
    ctx.toast("Task deleted", "success");
    await load();
    return true;
  }

  async function openEditor(t) {
    let T;
    try {
      T = await ensureTags();
    } catch (e) {
      return reportError(ctx, "Tasks are not available", e);
    }
    let full = null;
    if (t) {
      try {
        full = await ctx.api.call("loadObject", { entryId: t.entryId });
      } catch (e) {
        return reportError(ctx, "Could not open the task", e);
      }
      t = taskFrom(full.entryId, full.props, T);
    }
    const subject = h("input", { type: "text", value: t ? t.subject : "", autocomplete: "off" });
    const status = h("select", null, [0, 1, 2].map((s) => h("option", { value: String(s), text: STATUS_TEXT[s] })));
    status.value = String(t ? (t.complete ? 2 : t.status) : 0);
    const percent = h("input", { type: "number", min: "0", max: "100", step: "5", value: String(t ? Math.round(t.percent * 100) : 0) });
    const start = h("input", { type: "date", value: t && t.start ? ymd(t.start) : "" });
    const due = h("input", { type: "date", value: t && t.due ? ymd(t.due) : "" });
    const notes = h("textarea", { rows: "4", value: full ? prop(full.props, "PR_BODY") || "" : "" });
    status.addEventListener("change", () => {
      if (status.value === "2") percent.value = "100";
      else if (status.value === "0") percent.value = "0";
      else if (percent.value === "0" || percent.value === "100") percent.value = "50";
    });
    percent.addEventListener("change", () => {
      const p = Number(percent.value);
      status.value = p >= 100 ? "2" : p > 0 ? "1" : status.value === "2" ? "0" : status.value;
    });
    const dlg = openDialog({
      title: t ? "Edit task" : "New task",
      body: [
        field("Subject", subject),
        h("div", { class: "pim-row" }, field("Status", status), field("% complete", percent)),
        h("div", { class: "pim-row" }, field("Start date", start), field("Due date", due)),
        field("Notes", notes),
      ],
      actions: [
        t ? h("button", { type: "button", class: "btn btn-danger pim-left", text: "Delete", onclick: async () => { if (await remove(t)) dlg.close(); } }) : null,
        h("button", { type: "button", class: "btn", text: "Cancel", onclick: () => dlg.close() }),
        h("button", { type: "submit", class: "btn btn-primary", text: "Save" }),
      ],
      onSubmit: save,
      onClose: () => { state.dialog = null; },
    });
    state.dialog = dlg;

    async function save() {
      dlg.showError("");
      if (!subject.value.trim()) {
        subject.focus();
        return dlg.showError("Give the task a subject.");
      }
      const s = fromLocalInput(start.value);
      const d = fromLocalInput(due.value);
      if (s && d && d < s) return dlg.showError("The due date is before the start date.");
      const st = Number(status.value);
      const pct = Math.max(0, Math.min(100, Number(percent.value) || 0)) / 100;
      const c = st === TASK_STATUS.COMPLETE
        ? (t && t.complete ? { props: { [T.complete]: true, [T.status]: 2, [T.percent]: 1 }, deleteProps: [] } : completionProps(true))
        : completionProps(false, pct);
      c.props[T.status] = st;
      const props = { PR_MESSAGE_CLASS: "IPM.Task", PR_SUBJECT: subject.value.trim(), PR_BODY: notes.value, ...c.props };
      const deleteProps = t ? [...c.deleteProps] : [];
      if (s) props[T.start] = toIso(s);
      else if (t) deleteProps.push(T.start);
      if (d) props[T.due] = toIso(d);
      else if (t) deleteProps.push(T.due);
      const req = t ? { entryId: t.entryId, props } : { folder: ctx.store.tasks, props };
      if (deleteProps.length) req.deleteProps = deleteProps;
      dlg.setBusy(true);
      try {
        await ctx.api.call("saveObject", req);
      } catch (e) {
        dlg.setBusy(false);
        dlg.showError(e.message);
        return reportError(ctx, "Could not save the task", e);
      }
      dlg.close();
      ctx.toast(t ? "Task saved" : "Task created", "success");
      await load();
    }
  }

  await load();
  return () => {
    state.alive = false;
    if (state.dialog) state.dialog.close();
  };
}

function taskFrom(entryId, p, T) {
  const complete = !!prop(p, T.complete) || prop(p, T.status) === TASK_STATUS.COMPLETE;
  const pct = Number(prop(p, T.percent) ?? (complete ? 1 : 0));
  return {
    entryId,
    subject: prop(p, "PR_SUBJECT") || "",
    status: Number(prop(p, T.status) ?? (complete ? 2 : 0)),
    percent: Number.isFinite(pct) ? Math.max(0, Math.min(1, pct)) : 0,
    start: fromIso(prop(p, T.start)),
    due: fromIso(prop(p, T.due)),
    complete,
    dateCompleted: fromIso(prop(p, T.dateCompleted)),
  };
}
