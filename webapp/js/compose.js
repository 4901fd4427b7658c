// Writing mail: new messages, replies, reply-all and forwards in a dialog.
// The draft is saved to Drafts a few seconds after each change (one message,
// updated in place by entry id), attachments are uploaded with the draft, and
// Send saves the recipients and hands the message to the spooler through
// submitMessage. Recipients are completed from the global address list.

import { h, icon, replace, fullDate, formatSize } from "./dom.js";
import { modal, toast, errorText, confirmDialog } from "./ui.js";

const AUTOSAVE_MS = 3000;
const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+$/;

/** Parses "Name <a@b>" or "a@b" into {displayName, address}. */
export function parseAddress(text) {
  const t = text.trim().replace(/[,;]+$/, "");
  const m = t.match(/^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/);
  if (m) return { displayName: m[1].trim() || m[2].trim(), address: m[2].trim() };
  return { displayName: t, address: t };
}

/**
 * A recipient field: chips for recipients, an input with completion from resolveNames.
 * @param {{api: object, id: string, label: string, initial?: Array<{displayName: string, address: string}>, onChange: Function}} o
 */
function recipientField(o) {
  let recips = [...(o.initial || [])];
  const listId = o.id + "-suggest";
  const input = h("input", {
    id: o.id,
    type: "text",
    autocomplete: "off",
    spellcheck: "false",
    role: "combobox",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listId,
  });
  const chips = h("span", { class: "recip-chips" });
  chips.style.display = "contents";
  const suggest = h("ul", { id: listId, class: "suggest", role: "listbox", "aria-label": `${o.label} suggestions`, hidden: true });
  const field = h("div", { class: "recip-field", onclick: (e) => e.target === field && input.focus() }, chips, input, suggest);
  let entries = [];
  let active = -1;
  let timer = 0;
  let seq = 0;

  function renderChips() {
    replace(
      chips,
      recips.map((r, i) =>
        h(
          "span",
          { class: ["chip", !ADDRESS.test(r.address) && "chip-invalid"], title: r.address },
          h("span", null, r.displayName || r.address),
          h(
            "button",
            {
              type: "button",
              class: "btn btn-icon",
              "aria-label": `Remove ${r.displayName || r.address}`,
              onclick: () => {
                recips.splice(i, 1);
                renderChips();
                o.onChange();
                input.focus();
              },
            },
            icon("close"),
          ),
        ),
      ),
    );
  }

  function close() {
    suggest.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    entries = [];
    active = -1;
  }

  function add(r) {
    if (!r.address) return;
    if (!recips.some((x) => x.address.toLowerCase() === r.address.toLowerCase())) recips.push(r);
    input.value = "";
    close();
    renderChips();
    o.onChange();
  }

  function commitText() {
    const parts = input.value.split(/[,;]/).map((s) => s.trim()).filter(Boolean);
    for (const p of parts) add(parseAddress(p));
    input.value = "";
  }

  function highlight(i) {
    active = i;
    [...suggest.children].forEach((li, j) => li.setAttribute("aria-selected", j === i ? "true" : "false"));
    if (i >= 0) input.setAttribute("aria-activedescendant", `${listId}-${i}`);
  }

  async function lookup() {
    const text = input.value.trim();
    const my = ++seq;
    if (text.length < 1 || /[,;]/.test(text)) return close();
    try {
      const r = await o.api.call("resolveNames", { names: [text] });
      if (my !== seq) return;
      entries = (r.entries || []).filter((e) => e.address).slice(0, 8);
    } catch {
      entries = [];
    }
    if (!entries.length) return close();
    replace(
      suggest,
      entries.map((e, i) =>
        h(
          "li",
          { id: `${listId}-${i}`, role: "option", "aria-selected": "false", onmousedown: (ev) => (ev.preventDefault(), add({ displayName: e.displayName, address: e.address })) },
          h("span", { class: "s-name" }, e.displayName || e.account),
          h("span", { class: "s-addr" }, e.address),
        ),
      ),
    );
    suggest.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(0);
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    if (/[,;]$/.test(input.value)) return commitText();
    timer = setTimeout(lookup, 120);
  });
  input.addEventListener("keydown", (e) => {
    if (!suggest.hidden && entries.length) {
      if (e.key === "ArrowDown") return (e.preventDefault(), highlight((active + 1) % entries.length));
      if (e.key === "ArrowUp") return (e.preventDefault(), highlight((active - 1 + entries.length) % entries.length));
      if ((e.key === "Enter" || e.key === "Tab") && active >= 0) {
        e.preventDefault();
        const x = entries[active];
        return add({ displayName: x.displayName, address: x.address });
      }
      if (e.key === "Escape") return (e.preventDefault(), e.stopPropagation(), close());
    }
    if (e.key === "Enter" && input.value.trim()) return (e.preventDefault(), commitText());
    if (e.key === "Backspace" && !input.value && recips.length) {
      recips.pop();
      renderChips();
      o.onChange();
    }
  });
  input.addEventListener("blur", () => {
    setTimeout(() => {
      if (document.activeElement !== input) {
        if (input.value.trim()) commitText();
        close();
      }
    }, 100);
  });
  renderChips();
  return {
    el: field,
    input,
    /** Recipients, including text still being typed. */
    get value() {
      if (input.value.trim()) commitText();
      return recips;
    },
  };
}

function quote(text) {
  return text
    .replace(/\r\n/g, "\n")
    .split("\n")
    .map((l) => (l.startsWith(">") ? ">" + l : "> " + l))
    .join("\n");
}

function plainBody(msg) {
  if (msg.props.PR_BODY) return msg.props.PR_BODY;
  if (msg.props.PR_HTML) {
    try {
      const html = new TextDecoder().decode(Uint8Array.from(atob(msg.props.PR_HTML), (c) => c.charCodeAt(0)));
      // An inert document: nothing in it runs or loads.
      return new DOMParser().parseFromString(html, "text/html").body.textContent || "";
    } catch {
      return "";
    }
  }
  return "";
}

const who = (r) => (r.displayName && r.displayName !== r.address ? `${r.displayName} <${r.address}>` : r.address);

function fileToBase64(file) {
  return new Promise((resolve, reject) => {
    const fr = new FileReader();
    fr.onload = () => resolve(String(fr.result).replace(/^data:[^,]*,/, ""));
    fr.onerror = () => reject(fr.error);
    fr.readAsDataURL(file);
  });
}

/**
 * Opens the compose dialog. `mode`: "new", "reply", "replyAll", "forward" or "draft"
 * (edit a saved draft: `source` is the draft). `source` is a loadObject answer.
 * Resolves when the dialog closes, with "sent", "saved" or "discarded".
 * @param {{api: object, store: object, user: object, mode: string, source?: object, to?: Array}} o
 */
export async function openCompose(o) {
  const { api, store, user, mode, source } = o;
  const sp = source ? source.props : {};
  let to = o.to || [],
    cc = [],
    subject = "",
    body = "";
  const me = (user.address || "").toLowerCase();
  const sender = source ? { displayName: sp.PR_SENDER_NAME || sp.PR_SENDER_EMAIL_ADDRESS || "", address: sp.PR_SENDER_EMAIL_ADDRESS || "" } : null;
  const origSubject = (sp.PR_SUBJECT || "").replace(/^((re|fw|fwd|aw|wg):\s*)+/i, "");
  const header = source ? `On ${fullDate(sp.PR_MESSAGE_DELIVERY_TIME || sp.PR_CLIENT_SUBMIT_TIME)}, ${sender.displayName || sender.address} wrote:` : "";
  const recipsOf = (t) => (source ? source.recipients.filter((r) => r.recipientType === t).map((r) => ({ displayName: r.displayName, address: r.address })) : []);
  let attachments = []; // {attachNum?, filename, mimeType, size, data?}
  if (mode === "reply" || mode === "replyAll") {
    to = sender && sender.address ? [sender] : [];
    if (mode === "replyAll") {
      const seen = new Set([me, ...(to.map((r) => r.address.toLowerCase()))]);
      const keep = (r) => r.address && !seen.has(r.address.toLowerCase()) && seen.add(r.address.toLowerCase());
      to = to.concat(recipsOf(1).filter(keep));
      cc = recipsOf(2).filter(keep);
    }
    subject = "Re: " + origSubject;
    body = `\n\n${header}\n${quote(plainBody(source))}\n`;
  } else if (mode === "forward") {
    subject = "Fwd: " + origSubject;
    body =
      "\n\n---------- Forwarded message ----------\n" +
      `From: ${who(sender)}\nDate: ${fullDate(sp.PR_MESSAGE_DELIVERY_TIME || sp.PR_CLIENT_SUBMIT_TIME)}\nSubject: ${sp.PR_SUBJECT || ""}\n` +
      (recipsOf(1).length ? `To: ${recipsOf(1).map(who).join(", ")}\n` : "") +
      `\n${plainBody(source)}\n`;
    try {
      for (const a of source.attachments) {
        const r = await api.call("getAttachment", { entryId: source.entryId, attachNum: a.attachNum });
        attachments.push({ filename: a.filename, mimeType: a.mimeType, size: a.size, data: r.data, contentId: a.contentId || undefined, inline: a.inline || undefined });
      }
    } catch (e) {
      toast("The attachments could not be copied: " + errorText(e), "error");
    }
  } else if (mode === "draft") {
    to = recipsOf(1);
    cc = recipsOf(2);
    subject = sp.PR_SUBJECT || "";
    body = sp.PR_BODY || "";
    attachments = source.attachments.map((a) => ({ attachNum: a.attachNum, filename: a.filename, mimeType: a.mimeType, size: a.size }));
  }
  const bcc = mode === "draft" ? recipsOf(3) : [];

  let entryId = mode === "draft" ? source.entryId : null;
  let dirty = mode === "forward" && attachments.length > 0;
  let timer = 0;
  let chain = Promise.resolve();
  let deleteAttachments = [];
  let closing = false;

  const titles = { new: "New message", reply: "Reply", replyAll: "Reply all", forward: "Forward", draft: "Draft" };
  return modal({
    title: titles[mode] || "New message",
    wide: true,
    cls: "dialog-compose",
    build: (close, dlg) => {
      const status = h("span", { class: "compose-status", role: "status" });
      const changed = () => {
        dirty = true;
        clearTimeout(timer);
        timer = setTimeout(() => save().catch(() => {}), AUTOSAVE_MS);
      };
      const toF = recipientField({ api, id: "compose-to", label: "To", initial: to, onChange: changed });
      const ccF = recipientField({ api, id: "compose-cc", label: "Cc", initial: cc, onChange: changed });
      const bccF = recipientField({ api, id: "compose-bcc", label: "Bcc", initial: bcc, onChange: changed });
      const subj = h("input", { id: "compose-subject", class: "input", type: "text", value: subject, oninput: changed });
      const text = h("textarea", { id: "compose-body", class: "compose-body", "aria-label": "Message text", oninput: changed });
      text.value = body;
      const attList = h("div", { class: "compose-attachments", "aria-label": "Attachments", role: "list" });
      const file = h("input", { type: "file", multiple: true, hidden: true, "aria-hidden": "true", tabindex: "-1" });
      const showCc = cc.length > 0 || bcc.length > 0;
      const ccLabel = h("label", { for: "compose-cc", hidden: !showCc }, "Cc");
      const bccLabel = h("label", { for: "compose-bcc", hidden: !showCc }, "Bcc");
      ccF.el.hidden = !showCc;
      bccF.el.hidden = !showCc;
      const ccToggle = h(
        "button",
        {
          type: "button",
          class: "btn btn-ghost btn-sm recip-extra",
          hidden: showCc,
          onclick: () => {
            [ccLabel, bccLabel, ccF.el, bccF.el].forEach((x) => (x.hidden = false));
            ccToggle.hidden = true;
            ccF.input.focus();
          },
        },
        "Cc/Bcc",
      );
      const toRow = h("div", { class: "recip-row" }, toF.el, ccToggle);
      toRow.style.display = "flex";
      toF.el.style.flex = "1";

      function renderAttachments() {
        replace(
          attList,
          attachments.map((a, i) =>
            h(
              "span",
              { class: "chip", role: "listitem" },
              icon("attach"),
              h("span", null, `${a.filename} (${formatSize(a.size)})`),
              h(
                "button",
                {
                  type: "button",
                  class: "btn btn-icon",
                  "aria-label": `Remove attachment ${a.filename}`,
                  onclick: () => {
                    if (a.attachNum !== undefined) deleteAttachments.push(a.attachNum);
                    attachments.splice(i, 1);
                    renderAttachments();
                    changed();
                  },
                },
                icon("close"),
              ),
            ),
          ),
        );
      }
      file.addEventListener("change", async () => {
        for (const f of file.files) {
          if (f.size > 25 * 1024 * 1024) {
            toast(`${f.name} is larger than 25 MB and was not attached.`, "error");
            continue;
          }
          attachments.push({ filename: f.name, mimeType: f.type || "application/octet-stream", size: f.size, data: await fileToBase64(f) });
        }
        file.value = "";
        renderAttachments();
        changed();
      });

      function props() {
        const p = { PR_MESSAGE_CLASS: "IPM.Note", PR_SUBJECT: subj.value, PR_BODY: text.value };
        if ((mode === "reply" || mode === "replyAll") && sp.PR_INTERNET_MESSAGE_ID) {
          p.PR_IN_REPLY_TO_ID = sp.PR_INTERNET_MESSAGE_ID;
          p.PR_INTERNET_REFERENCES = [sp.PR_INTERNET_REFERENCES, sp.PR_INTERNET_MESSAGE_ID].filter(Boolean).join(" ");
        }
        return p;
      }
      function recipients() {
        const r = [];
        for (const [t, f] of [[1, toF], [2, ccF], [3, bccF]]) for (const x of f.value) r.push({ recipientType: t, displayName: x.displayName || x.address, address: x.address });
        return r;
      }

      /** Saves the draft (serialised: one save at a time). */
      function save() {
        clearTimeout(timer);
        chain = chain.then(async () => {
          if (!dirty && entryId) return;
          dirty = false;
          status.textContent = "Saving…";
          const fresh = attachments.filter((a) => a.data !== undefined && a.attachNum === undefined);
          const req = {
            props: props(),
            recipients: recipients(),
            attachments: fresh.map((a) => ({ filename: a.filename, mimeType: a.mimeType, data: a.data, contentId: a.contentId, inline: a.inline })),
            deleteAttachments,
          };
          if (entryId) req.entryId = entryId;
          else req.folder = store.drafts;
          try {
            const r = await api.call("saveObject", req);
            entryId = r.entryId;
            deleteAttachments = [];
            if (fresh.length) {
              // Learn the numbers the server gave the new attachments.
              const m = await api.call("loadObject", { entryId });
              const known = new Set(attachments.filter((a) => a.attachNum !== undefined).map((a) => a.attachNum));
              const nums = m.attachments.map((a) => a.attachNum).filter((n) => !known.has(n)).sort((x, y) => x - y);
              fresh.forEach((a, i) => {
                a.attachNum = nums[i];
                delete a.data;
              });
            }
            status.textContent = `Draft saved at ${new Date().toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}`;
          } catch (e) {
            dirty = true;
            status.textContent = "Draft not saved";
            toast("The draft could not be saved: " + errorText(e), "error");
            throw e;
          }
        });
        return chain;
      }

      async function send() {
        const all = recipients();
        if (!all.length) {
          toast("Add at least one recipient.", "error");
          toF.input.focus();
          return;
        }
        const bad = all.find((r) => !ADDRESS.test(r.address));
        if (bad) {
          toast(`“${bad.address}” is not an email address.`, "error");
          return;
        }
        if (!subj.value.trim() && !(await confirmDialog("Send this message without a subject?", { title: "No subject", confirmLabel: "Send", danger: false }))) return;
        sendBtn.disabled = true;
        status.textContent = "Sending…";
        try {
          dirty = true;
          await save();
          await api.call("submitMessage", { entryId });
          closing = true;
          toast("Message sent", "success");
          close("sent");
        } catch (e) {
          sendBtn.disabled = false;
          status.textContent = "";
          toast("The message was not sent: " + errorText(e), "error");
        }
      }

      async function keepAndClose() {
        if (closing) return;
        closing = true;
        clearTimeout(timer);
        const typed = subj.value || text.value.trim() || recipients().length || attachments.length;
        if (dirty && typed) {
          try {
            await save();
            toast("Draft saved to Drafts");
          } catch {
            closing = false;
            return;
          }
        }
        close(entryId ? "saved" : "discarded");
      }

      async function discard() {
        if (!(await confirmDialog("Discard this message? The draft will be deleted.", { title: "Discard draft", confirmLabel: "Discard" }))) return;
        closing = true;
        clearTimeout(timer);
        try {
          await chain.catch(() => {});
          if (entryId) await api.call("deleteObjects", { entryIds: [entryId], hard: true });
        } catch (e) {
          toast(errorText(e), "error");
        }
        close("discarded");
      }

      // Escape and the close button keep the draft.
      dlg.addEventListener("cancel", (e) => {
        e.preventDefault();
        keepAndClose();
      });
      const headerClose = () => dlg.querySelector(".dialog-header .btn-icon");
      setTimeout(() => {
        const b = headerClose();
        if (b) {
          b.onclick = null;
          b.replaceWith(h("button", { type: "button", class: "btn btn-icon", "aria-label": "Close and keep draft", title: "Close and keep draft", onclick: keepAndClose }, icon("close")));
        }
      });
      dlg.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          send();
        }
      });

      const sendBtn = h("button", { type: "button", class: "btn btn-primary", onclick: send, title: "Send (Ctrl+Enter)" }, icon("sent"), h("span", null, "Send"));
      const attachBtn = h("button", { type: "button", class: "btn", onclick: () => file.click() }, icon("attach"), h("span", null, "Attach"));
      const discardBtn = h("button", { type: "button", class: "btn btn-ghost", onclick: discard }, icon("trash"), h("span", null, "Discard"));
      renderAttachments();

      const form = h(
        "div",
        { class: "compose" },
        h(
          "div",
          { class: "compose-fields" },
          h("label", null, "From"),
          h("div", { class: "compose-from" }, user.displayName ? `${user.displayName} <${user.address}>` : user.address),
          h("label", { for: "compose-to" }, "To"),
          toRow,
          ccLabel,
          ccF.el,
          bccLabel,
          bccF.el,
          h("label", { for: "compose-subject" }, "Subject"),
          subj,
        ),
        attList,
        file,
        text,
      );
      const initialFocus = to.length ? text : toF.input;
      if (mode === "reply" || mode === "replyAll" || mode === "forward") setTimeout(() => text.setSelectionRange(0, 0));
      if (dirty) changed();
      return { body: form, actions: [status, discardBtn, attachBtn, sendBtn], initialFocus };
    },
  });
}
