// New mail without a reload: one long-poll loop on the `notify` operation per
// signed-in page. Views subscribe to the events it brings; on a failure the
// loop backs off (1 s doubling to 30 s) and tries again, and it stops when the
// session ends.

import * as api from "./api.js";

const listeners = new Set();
let running = false;
let generation = 0;

/**
 * Subscribes to notification events; `fn(events)` gets each non-empty batch
 * (`[{kind, entryId, folder, oldFolder?}]`). Returns a function that unsubscribes.
 * @param {(events: Array<object>) => void} fn
 */
export function onEvents(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Starts the loop. `onSessionLost` is called when the server answers 401/403
 * (the session expired or was logged out elsewhere).
 * @param {() => void} onSessionLost
 */
export function start(onSessionLost) {
  if (running) return;
  running = true;
  const gen = ++generation;
  (async () => {
    let delay = 1000;
    while (running && gen === generation) {
      try {
        const r = await api.call("notify", { timeoutSeconds: 25 });
        if (gen !== generation) return;
        delay = 1000;
        const events = (r && r.events) || [];
        if (events.length) {
          for (const fn of [...listeners]) {
            try {
              fn(events);
            } catch (e) {
              console.error("notify listener failed", e);
            }
          }
        }
      } catch (e) {
        if (gen !== generation) return;
        if (e && (e.status === 401 || e.status === 403)) {
          running = false;
          onSessionLost();
          return;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30000);
      }
    }
  })();
}

/** Stops the loop (the request in flight is left to finish and ignored). */
export function stop() {
  running = false;
  generation++;
}
