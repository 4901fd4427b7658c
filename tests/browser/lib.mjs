// Helpers of the browser tests: the browser (Debian's chromium driven by
// playwright-core, never a downloaded one), LMTP delivery into okapi, a local
// HTTP listener that records every request a hostile mail might make, and the
// settings the Rust harness (tests/webapp_browser.rs) passes in the environment.

import net from "node:net";
import http from "node:http";
import { chromium } from "playwright-core";

/** Reads a required environment variable. */
export function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set: run these tests through tests/webapp_browser.rs (cargo test --test webapp_browser)`);
  return v;
}

/** Launches chromium headless with a fresh profile and no background traffic. */
export function launch() {
  return chromium.launch({
    executablePath: env("CHROMIUM", "/usr/bin/chromium"),
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

/**
 * Delivers one RFC 5322 message over LMTP ("host:port" or a unix socket path);
 * resolves with the replies, rejects on any refusal.
 */
export async function lmtpDeliver(addr, from, rcpts, message) {
  const [host, port] = addr.split(/:(?=\d+$)/);
  const sock = addr.startsWith("/") ? net.connect({ path: addr }) : net.connect({ host, port: Number(port) });
  sock.setEncoding("utf8");
  const lines = [];
  let waiting = null;
  let buf = "";
  sock.on("data", (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\r\n")) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
    if (waiting) waiting();
  });
  const failed = new Promise((_, reject) => sock.on("error", reject));
  // Reads one complete (possibly multi-line) reply.
  const reply = async () => {
    for (;;) {
      const end = lines.findIndex((l) => /^\d{3} /.test(l) || /^\d{3}$/.test(l));
      if (end >= 0) {
        const r = lines.splice(0, end + 1).pop();
        if (!/^[23]/.test(r)) throw new Error(`LMTP refused: ${r}`);
        return r;
      }
      await Promise.race([new Promise((r) => (waiting = r)), failed, new Promise((_, rej) => setTimeout(() => rej(new Error("LMTP timed out")), 15000))]);
    }
  };
  const say = async (line, n = 1) => {
    sock.write(line + "\r\n");
    const out = [];
    for (let i = 0; i < n; i++) out.push(await reply());
    return out;
  };
  try {
    await reply();
    await say("LHLO browser.test");
    await say(`MAIL FROM:<${from}>`);
    for (const r of rcpts) await say(`RCPT TO:<${r}>`);
    await say("DATA");
    const data = message.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
    const replies = await say(data + (data.endsWith("\r\n") ? "" : "\r\n") + ".", rcpts.length);
    await say("QUIT");
    return replies;
  } finally {
    sock.destroy();
  }
}

/** Starts an HTTP listener on 127.0.0.1 that records the path of every request; answers a 1x1 GIF. */
export async function hitRecorder() {
  const hits = [];
  const gif = Buffer.from("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==", "base64");
  const server = http.createServer((req, res) => {
    hits.push(req.url);
    res.writeHead(200, { "content-type": "image/gif", "access-control-allow-origin": "*" });
    res.end(gif);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { hits, base: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** Signs in on a fresh page of `context` and waits for the mail view. */
export async function signIn(context, url, user, password) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[${user}] page error: ${e.message}`));
  await page.goto(url);
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("tree", { name: "Mail folders" }).waitFor();
  return page;
}

/** "YYYY-MM-DD" of a date in local time. */
export function ymd(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
