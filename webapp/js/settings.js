// Settings: the out-of-office reply (getOutOfOffice / setOutOfOffice) and
// changing one's password (changePassword). Plain forms with labels, saved
// with a toast and the server's own message when something is refused.

import { h, replace } from "./dom.js";
import { toast, errorText } from "./ui.js";

// datetime-local wants "YYYY-MM-DDTHH:MM" in local time; the API speaks RFC 3339.
function toLocalInput(rfc) {
  if (!rfc) return "";
  const d = new Date(rfc);
  if (isNaN(d)) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
function fromLocalInput(v) {
  return v ? new Date(v).toISOString().replace(/\.\d{3}Z$/, "Z") : undefined;
}

/**
 * Mounts the settings view.
 * @param {HTMLElement} container
 * @param {object} ctx see app.js
 */
export async function mount(container, ctx) {
  const { api } = ctx;
  const field = (id, label, input) => [h("label", { for: id }, label), input];

  // ---- out of office ----
  const enabled = h("input", { id: "oof-enabled", type: "checkbox" });
  const subject = h("input", { id: "oof-subject", type: "text", placeholder: "Out of office" });
  const body = h("textarea", { id: "oof-body", rows: "6" });
  const start = h("input", { id: "oof-start", type: "datetime-local" });
  const end = h("input", { id: "oof-end", type: "datetime-local" });
  const oofSave = h("button", { type: "submit", class: "btn btn-primary" }, "Save");
  const oofForm = h(
    "form",
    { class: "form", "aria-labelledby": "oof-title" },
    h("div", { class: "form-row form-check" }, enabled, h("label", { for: "oof-enabled" }, "Send automatic replies")),
    field("oof-subject", "Subject", subject),
    field("oof-body", "Message", body),
    field("oof-start", "From", start),
    field("oof-end", "Until", end),
    h("p", { class: "form-hint" }, "Leave the dates empty to reply until you turn this off. Each sender gets one reply."),
    h("div", { class: "form-actions" }, oofSave),
  );
  const syncEnabled = () => [subject, body, start, end].forEach((x) => (x.disabled = !enabled.checked));
  enabled.addEventListener("change", syncEnabled);
  oofForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (start.value && end.value && new Date(end.value) <= new Date(start.value)) {
      toast("The end must be after the start.", "error");
      end.focus();
      return;
    }
    oofSave.disabled = true;
    try {
      await api.call("setOutOfOffice", {
        settings: { enabled: enabled.checked, subject: subject.value, body: body.value, start: fromLocalInput(start.value), end: fromLocalInput(end.value) },
      });
      toast(enabled.checked ? "Automatic replies are on" : "Automatic replies are off", "success");
    } catch (x) {
      toast(errorText(x), "error");
    } finally {
      oofSave.disabled = false;
    }
  });

  // ---- password ----
  const oldPw = h("input", { id: "pw-old", type: "password", autocomplete: "current-password", required: true });
  const newPw = h("input", { id: "pw-new", type: "password", autocomplete: "new-password", required: true, minlength: "8" });
  const newPw2 = h("input", { id: "pw-new2", type: "password", autocomplete: "new-password", required: true });
  const pwError = h("p", { class: "form-error", role: "alert", hidden: true });
  const pwSave = h("button", { type: "submit", class: "btn btn-primary" }, "Change password");
  const pwForm = h(
    "form",
    { class: "form", "aria-labelledby": "pw-title" },
    // For password managers: which account this password belongs to.
    h("input", { type: "text", autocomplete: "username", value: ctx.user.login, hidden: true, readonly: true }),
    field("pw-old", "Current password", oldPw),
    field("pw-new", "New password", newPw),
    h("p", { class: "form-hint" }, "At least 8 characters."),
    field("pw-new2", "Repeat new password", newPw2),
    pwError,
    h("div", { class: "form-actions" }, pwSave),
  );
  pwForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fail = (msg, el) => {
      pwError.textContent = msg;
      pwError.hidden = false;
      el && el.focus();
    };
    if (!oldPw.value) return fail("Enter your current password.", oldPw);
    if (newPw.value.length < 8) return fail("The new password needs at least 8 characters.", newPw);
    if (newPw.value !== newPw2.value) return fail("The two new passwords are not the same.", newPw2);
    pwError.hidden = true;
    pwSave.disabled = true;
    try {
      await api.call("changePassword", { oldPassword: oldPw.value, newPassword: newPw.value });
      pwForm.reset();
      toast("Your password was changed", "success");
    } catch (x) {
      fail(errorText(x), oldPw);
    } finally {
      pwSave.disabled = false;
    }
  });

  replace(
    container,
    h(
      "div",
      { class: "settings" },
      h(
        "div",
        { class: "settings-inner" },
        h("h1", null, "Settings"),
        h("section", { class: "card" }, h("h2", { id: "oof-title" }, "Out of office"), h("p", { class: "card-sub" }, "Reply automatically to mail while you are away."), oofForm),
        h(
          "section",
          { class: "card" },
          h("h2", { id: "pw-title" }, "Password"),
          h("p", { class: "card-sub" }, `Change the password you use to sign in as ${ctx.user.login}.`),
          pwForm,
        ),
      ),
    ),
  );

  try {
    const oof = await api.call("getOutOfOffice", {});
    const s = oof.settings || oof;
    enabled.checked = !!s.enabled;
    subject.value = s.subject || "";
    body.value = s.body || "";
    start.value = toLocalInput(s.start);
    end.value = toLocalInput(s.end);
  } catch (x) {
    toast("Out-of-office settings could not be loaded: " + errorText(x), "error");
  }
  syncEnabled();
}
