// Browser tests of the calendar, contacts, tasks and notes views: Debian's
// chromium driven by playwright-core against a running okapi-server, through
// the real shell (login form, router, CSP headers). Each test creates items
// with unique names, checks them on screen and through a fresh page load
// (so what was saved is what the server keeps), and deletes them again.
//
// Run: OKAPI_URL=http://127.0.0.1:8302 OKAPI_USER1=demo OKAPI_PASS1=... node --test pim.test.mjs
// (the variables tests/webapp_browser.rs sets; OKAPI_USER/OKAPI_PASSWORD work too).
// Without OKAPI_URL the tests are skipped. OKAPI_WEBAPP_PAGE overrides the
// page (default $OKAPI_URL/webapp/); OKAPI_SKIP_LOGIN=1 for a page that is
// already signed in. CHROMIUM overrides /usr/bin/chromium.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const BASE = process.env.OKAPI_URL;
const PAGE = process.env.OKAPI_WEBAPP_PAGE || (BASE ? BASE.replace(/\/$/, "") + "/webapp/" : "");
const skip = BASE ? false : "OKAPI_URL is not set";
const RUN = Date.now().toString(36);

let browser;
/** Console messages that mean a CSP violation or an uncaught error, per test. */
let problems = [];

before(async () => {
  if (skip) return;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
});

/** A signed-in page showing `hash`, with CSP violations and page errors collected. */
async function open(hash, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, timezoneId: "Europe/Berlin", locale: "en-GB" });
  const page = await context.newPage();
  problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.on("dialog", (d) => d.accept()); // a stand-in page may use window.confirm
  await page.goto(PAGE + hash);
  if (!process.env.OKAPI_SKIP_LOGIN) {
    await page.getByLabel("Username").fill(process.env.OKAPI_USER1 || process.env.OKAPI_USER || "demo");
    await page.getByLabel("Password").fill(process.env.OKAPI_PASS1 || process.env.OKAPI_PASSWORD || "");
    await page.getByLabel("Password").press("Enter");
  }
  return page;
}

/** Answers the shell's "Please confirm" dialog if it shows one. */
async function confirm(page) {
  const ok = page.getByRole("dialog", { name: "Please confirm" }).getByRole("button", { name: "OK" });
  try {
    await ok.click({ timeout: 3000 });
  } catch {
    // window.confirm (accepted by the dialog handler) or no confirmation at all.
  }
}

function noProblems() {
  assert.deepEqual(problems, [], "no CSP violations or page errors");
}

test("calendar: create an appointment in the week view, reopen it, drag it an hour later, stretch it, delete it", { skip }, async () => {
  const subject = `Design review ${RUN}`;
  const page = await open("#/calendar/week/2027-03-10");
  await page.getByRole("button", { name: "New appointment" }).click();
  const dlg = page.getByRole("dialog", { name: "New appointment" });
  await dlg.getByLabel("Subject").fill(subject);
  await dlg.getByLabel("Location").fill("Room 4");
  await dlg.getByLabel("Start", { exact: true }).fill("2027-03-10T10:00");
  await dlg.getByLabel("End", { exact: true }).fill("2027-03-10T11:00");
  await dlg.getByLabel("Attendees").fill("Ann Example <ann@example.org>");
  await dlg.getByLabel("Reminder").selectOption("30");
  await dlg.getByRole("button", { name: "Save" }).click();
  const ev = page.locator(".pim-ev", { hasText: subject });
  await ev.waitFor();

  // What the server kept, after a fresh load.
  await page.reload(); // the session cookie survives; the shell mounts the view again
  await page.locator(".pim-ev", { hasText: subject }).click();
  const edit = page.getByRole("dialog", { name: "Edit appointment" });
  assert.equal(await edit.getByLabel("Location").inputValue(), "Room 4");
  assert.equal(await edit.getByLabel("Start", { exact: true }).inputValue(), "2027-03-10T10:00");
  assert.equal(await edit.getByLabel("Reminder").inputValue(), "30");
  assert.match(await edit.getByLabel("Attendees").inputValue(), /ann@example\.org/);
  await edit.getByRole("button", { name: "Cancel" }).click();

  // Drag one hour (48px) down.
  const box = await page.locator(".pim-ev", { hasText: subject }).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + 10);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + 34, { steps: 4 });
  await page.mouse.move(box.x + box.width / 2, box.y + 58, { steps: 4 });
  await page.mouse.up();
  await page.getByText(/Moved “Design review/).first().waitFor();
  await page.locator(".pim-ev", { hasText: subject }).click();
  assert.equal(await page.getByRole("dialog", { name: "Edit appointment" }).getByLabel("Start", { exact: true }).inputValue(), "2027-03-10T11:00");
  await page.getByRole("dialog", { name: "Edit appointment" }).getByRole("button", { name: "Cancel" }).click();

  // Drag the bottom edge one hour down: it now ends at 13:00.
  const b2 = await page.locator(".pim-ev", { hasText: subject }).boundingBox();
  await page.mouse.move(b2.x + b2.width / 2, b2.y + b2.height - 2);
  await page.mouse.down();
  await page.mouse.move(b2.x + b2.width / 2, b2.y + b2.height + 22, { steps: 4 });
  await page.mouse.move(b2.x + b2.width / 2, b2.y + b2.height + 46, { steps: 4 });
  await page.mouse.up();
  await page.getByText(/now ends at/).first().waitFor();
  await page.locator(".pim-ev", { hasText: subject }).click();
  assert.equal(await page.getByRole("dialog", { name: "Edit appointment" }).getByLabel("End", { exact: true }).inputValue(), "2027-03-10T13:00");

  await page.getByRole("dialog", { name: "Edit appointment" }).getByRole("button", { name: "Delete" }).click();
  await confirm(page);
  await page.locator(".pim-ev", { hasText: subject }).waitFor({ state: "detached" });
  noProblems();
  await page.context().close();
});

test("calendar: a weekly series with a count shows in the week and month views and stops", { skip }, async () => {
  const subject = `Standup ${RUN}`;
  const page = await open("#/calendar/week/2027-04-05");
  await page.getByRole("button", { name: "New appointment" }).click();
  const dlg = page.getByRole("dialog", { name: "New appointment" });
  await dlg.getByLabel("Subject").fill(subject);
  await dlg.getByLabel("Start", { exact: true }).fill("2027-04-05T09:00");
  await dlg.getByLabel("End", { exact: true }).fill("2027-04-05T09:15");
  await dlg.getByLabel("Repeat").selectOption("WEEKLY");
  await dlg.getByLabel("Wed").check();
  await dlg.getByLabel("Stop", { exact: true }).selectOption("count");
  await dlg.getByLabel("Times").fill("4");
  await dlg.getByRole("button", { name: "Save" }).click();
  const ev = page.locator(".pim-ev", { hasText: subject });
  await ev.first().waitFor();
  assert.equal(await ev.count(), 2, "Monday and Wednesday of the first week");
  await page.getByRole("button", { name: "Next" }).click();
  await page.waitForFunction(() => location.hash.includes("2027-04-12"));
  await ev.first().waitFor();
  assert.equal(await ev.count(), 2, "Monday and Wednesday of the second week");
  await page.getByRole("button", { name: "Next" }).click();
  await page.waitForFunction(() => location.hash.includes("2027-04-19"));
  await page.locator(".pim-tg").waitFor();
  await page.waitForTimeout(300);
  assert.equal(await ev.count(), 0, "four occurrences, then the series stops");
  await page.getByRole("button", { name: "Month" }).click();
  await page.locator(".pim-month").waitFor();
  assert.equal(await page.locator(".pim-chip", { hasText: subject }).count(), 4);
  await page.locator(".pim-chip", { hasText: subject }).first().click();
  await page.getByRole("dialog", { name: "Edit appointment" }).getByRole("button", { name: "Delete" }).click();
  await confirm(page);
  await page.locator(".pim-chip", { hasText: subject }).first().waitFor({ state: "detached" });
  noProblems();
  await page.context().close();
});

test("contacts: create, find, edit and delete a contact", { skip }, async () => {
  const first = `Ada${RUN}`;
  const page = await open("#/contacts");
  await page.getByRole("button", { name: "New contact" }).click();
  await page.getByLabel("First name").fill(first);
  await page.getByLabel("Last name").fill("Lovelace");
  await page.getByLabel("Email").fill(`ada.${RUN}@example.org`);
  await page.getByLabel("Company").fill("Analytical Engines");
  await page.getByRole("button", { name: "Save" }).click();
  const item = page.locator(".pim-contact-item", { hasText: `${first} Lovelace` });
  await item.waitFor();

  await page.getByLabel("Search contacts").fill("analytical eng");
  await item.waitFor();
  await page.getByLabel("Search contacts").fill(`nobody-${RUN}`);
  await item.waitFor({ state: "detached" });
  await page.getByLabel("Search contacts").fill("");
  await item.waitFor();

  await item.click();
  await page.getByLabel("Company").fill("Difference Engines");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator(".pim-contact-item", { hasText: "Difference Engines" }).waitFor();
  await page.reload();
  await page.locator(".pim-contact-item", { hasText: `${first} Lovelace` }).click();
  assert.equal(await page.getByLabel("Company").inputValue(), "Difference Engines");
  assert.equal(await page.getByLabel("Email").inputValue(), `ada.${RUN}@example.org`);

  await page.getByRole("button", { name: "Delete" }).click();
  await confirm(page);
  await page.locator(".pim-contact-item", { hasText: `${first} Lovelace` }).waitFor({ state: "detached" });
  noProblems();
  await page.context().close();
});

test("contacts at phone width: list and form one at a time", { skip }, async () => {
  const page = await open("#/contacts", { width: 390, height: 800 });
  await page.getByRole("button", { name: "New contact" }).click();
  await page.getByLabel("First name").waitFor();
  assert.equal(await page.getByLabel("Search contacts").isVisible(), false, "the list hides behind the form");
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.getByLabel("Search contacts").waitFor();
  noProblems();
  await page.context().close();
});

test("tasks: quick add, complete, filter, delete", { skip }, async () => {
  const subject = `Renew certificate ${RUN}`;
  const page = await open("#/tasks");
  await page.getByLabel("Add a task").fill(subject);
  await page.getByLabel("Add a task").press("Enter");
  const open_ = page.locator(".pim-task-open", { hasText: subject });
  await open_.waitFor();
  await open_.click();
  await page.getByRole("dialog", { name: "Edit task" }).getByLabel("Due date").fill("2020-01-01");
  await page.getByRole("dialog", { name: "Edit task" }).getByRole("button", { name: "Save" }).click();
  await page.locator(".pim-task", { hasText: subject }).locator(".pim-overdue").waitFor();

  // click(), not check(): ticking the box moves the task out of the Active
  // list, so check() would race that re-render when it reads the state back.
  await page.getByLabel(`Complete “${subject}”`).click();
  await page.getByText(`Completed “${subject}”`).waitFor(); // the toast
  await open_.waitFor({ state: "detached" }); // leaves the Active list
  await page.getByRole("button", { name: /^Completed/ }).click();
  await open_.waitFor();
  assert.equal(await page.getByLabel(`Complete “${subject}”`).isChecked(), true);
  await page.getByRole("button", { name: `Delete “${subject}”` }).click();
  await confirm(page);
  await open_.waitFor({ state: "detached" });
  noProblems();
  await page.context().close();
});

test("notes: a new note saves itself, keeps its colour, and can be deleted", { skip }, async () => {
  const title = `Groceries ${RUN}`;
  const page = await open("#/notes");
  await page.getByRole("button", { name: "New note" }).click();
  await page.getByLabel("Note text").fill(`${title}\nmilk, eggs`);
  await page.getByRole("radio", { name: "Green" }).click();
  await page.getByText("Saved", { exact: true }).waitFor();
  await page.keyboard.press("Escape");
  const card = page.locator(".pim-note", { hasText: title });
  await card.waitFor();
  await page.reload();
  await card.waitFor();
  assert.match(await card.getAttribute("class"), /pim-color-1/);
  await card.click();
  await page.getByRole("button", { name: "Delete" }).click();
  await confirm(page);
  await card.waitFor({ state: "detached" });
  noProblems();
  await page.context().close();
});
