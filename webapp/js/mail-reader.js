// The reading pane: one message's headers, its attachments (download links,
// thumbnails for images) and its body. The body is never put into this page:
// the server renders it (HTML sanitised, or plain text escaped) and the pane
// shows it in an iframe sandboxed without scripts and without this origin, so
// whatever the mail contains cannot run here. Remote images stay blocked until
// the user asks for them.

import { h, icon, replace, fullDate, formatSize, formatCount } from "./dom.js";

/**
 * Creates the reading pane. `onMarkedRead(entryId)` after an unread message was opened and marked read.
 * @param {{api: object, onMarkedRead: Function, onError: Function}} o
 */
export function createReader(o) {
  const root = h("div", { class: "reader", "aria-live": "off" });
  let token = 0;
  let current = null; // loadObject answer

  function empty(count) {
    current = null;
    token++;
    replace(
      root,
      count > 1
        ? h("div", { class: "empty-state" }, icon("mail"), h("p", { class: "empty-title" }, `${formatCount(count)} messages selected`), h("p", null, "Use the toolbar to move, delete or mark them all at once."))
        : h("div", { class: "empty-state" }, icon("mail"), h("p", { class: "empty-title" }, "No message selected"), h("p", null, "Choose a message in the list to read it here.")),
    );
  }

  async function show(row) {
    const my = ++token;
    replace(root, h("div", { class: "view-loading", role: "status", "aria-label": "Loading message" }, h("div", { class: "spinner" })));
    let msg, info;
    try {
      [msg, info] = await Promise.all([o.api.call("loadObject", { entryId: row.entryId }), o.api.bodyInfo(row.entryId).catch(() => ({ html: false, remoteImages: 0 }))]);
    } catch (e) {
      if (my !== token) return;
      replace(root, h("div", { class: "empty-state" }, icon("close"), h("p", { class: "empty-title" }, "This message could not be opened"), h("p", null, e.message)));
      o.onError(e);
      return;
    }
    if (my !== token) return;
    current = msg;
    render(msg, info, false);
    if (((msg.props.PR_MESSAGE_FLAGS || 0) & 1) === 0) {
      try {
        await o.api.call("setReadFlags", { entryIds: [msg.entryId], read: true });
        msg.props.PR_MESSAGE_FLAGS = (msg.props.PR_MESSAGE_FLAGS || 0) | 1;
        o.onMarkedRead(msg.entryId);
      } catch (e) {
        o.onError(e);
      }
    }
  }

  function render(msg, info, images) {
    const p = msg.props;
    const name = p.PR_SENDER_NAME || p.PR_SENT_REPRESENTING_NAME || p.PR_SENDER_EMAIL_ADDRESS || "(unknown sender)";
    const addr = p.PR_SENDER_EMAIL_ADDRESS || p.PR_SENT_REPRESENTING_EMAIL_ADDRESS || "";
    const when = p.PR_MESSAGE_DELIVERY_TIME || p.PR_CLIENT_SUBMIT_TIME || p.PR_LAST_MODIFICATION_TIME;
    const byType = (t) => msg.recipients.filter((r) => r.recipientType === t).map((r) => (r.displayName && r.displayName !== r.address ? `${r.displayName} <${r.address}>` : r.address));
    const to = byType(1);
    const cc = byType(2);
    const bcc = byType(3);
    const initials = (name.match(/\p{L}/gu) || ["?"]).slice(0, 1).join("").toUpperCase();

    const head = h(
      "header",
      { class: "reader-head" },
      h("h2", { class: "reader-subject", id: "reader-subject" }, p.PR_SUBJECT || "(no subject)"),
      h(
        "div",
        { class: "reader-from" },
        h("span", { class: "avatar", "aria-hidden": "true" }, initials),
        h("div", { class: "reader-sender" }, h("div", { class: "reader-sender-name" }, name), addr && addr !== name && h("div", { class: "reader-sender-addr" }, addr)),
        h("time", { class: "reader-date", datetime: when || "" }, fullDate(when)),
      ),
      to.length + cc.length + bcc.length > 0 &&
        h(
          "dl",
          { class: "reader-recips" },
          to.length > 0 && [h("dt", null, "To"), h("dd", null, to.join(", "))],
          cc.length > 0 && [h("dt", null, "Cc"), h("dd", null, cc.join(", "))],
          bcc.length > 0 && [h("dt", null, "Bcc"), h("dd", null, bcc.join(", "))],
        ),
    );

    const atts = msg.attachments.filter((a) => !(a.inline && a.contentId));
    const attachments =
      atts.length > 0 &&
      h(
        "section",
        { class: "attachments", "aria-label": "Attachments" },
        atts.map((a) => {
          const isImage = /^image\/(png|jpeg|gif|webp|bmp)$/i.test(a.mimeType);
          return h(
            "a",
            { class: "attachment", href: o.api.attachmentUrl(msg.entryId, a.attachNum), download: a.filename || "attachment", title: `Download ${a.filename}` },
            h("span", { class: "attachment-thumb" }, isImage ? h("img", { src: o.api.attachmentUrl(msg.entryId, a.attachNum, true), alt: "", loading: "lazy" }) : icon("attach")),
            h("span", { class: "attachment-info" }, h("span", { class: "attachment-name" }, a.filename || "attachment"), h("span", { class: "attachment-size" }, formatSize(a.size))),
          );
        }),
      );

    const notice =
      info && info.remoteImages > 0 && !images
        ? h(
            "div",
            { class: "notice remote-images-notice", role: "status" },
            icon("image"),
            h("span", null, `To protect your privacy, ${info.remoteImages === 1 ? "a remote image was" : `${info.remoteImages} remote images were`} not loaded.`),
            h("button", { type: "button", class: "btn btn-sm", onclick: () => render(msg, info, true) }, "Show remote images"),
          )
        : null;

    const frame = h("iframe", {
      class: "reader-frame",
      title: "Message body",
      sandbox: "allow-popups allow-popups-to-escape-sandbox",
      referrerpolicy: "no-referrer",
      src: o.api.bodyUrl(msg.entryId, images),
    });
    replace(root, head, notice, attachments, h("div", { class: "reader-body" }, frame));
    root.setAttribute("aria-labelledby", "reader-subject");
  }

  empty(0);
  return {
    el: root,
    show,
    empty,
    /** The message shown now (loadObject answer), or null. */
    get current() {
      return current;
    },
  };
}
