// What the e2e tests of the real window share: the one clock, WebDriver
// calls to tauri-driver, the app under a session, and a private session bus
// with a real notification daemon.
import * as child from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const root = resolve(import.meta.dirname, "../..");
export const app = process.env.RELCAL_APP ?? join(root, "target/debug/relcal-app");
export const relcal = process.env.RELCAL_CLI ?? join(root, "target/debug/relcal");
export const relcalServer = process.env.RELCAL_SERVER ?? join(root, "target/debug/relcal-server");
export const artifacts = join(root, "artifacts/e2e");
const port = 4444;
const base = `http://127.0.0.1:${port}`;
mkdirSync(artifacts, { recursive: true });
if (!existsSync(app)) throw new Error(`no app binary at ${app}; run make e2e`);
if (!existsSync(relcal)) throw new Error(`no relcal binary at ${relcal}; run make e2e`);
if (!existsSync(relcalServer)) throw new Error(`no relcal-server binary at ${relcalServer}; run make e2e`);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One clock for the whole run (crates/api/src/clock.rs): RELCAL_NOW, or a
// fixed Tuesday, never today's date, running on at the speed of real time.
// Every process the tests start (the app, the CLI, the server) gets it, set
// to this clock's now when it starts; scripts/each-day.sh runs the journeys
// on every day of a week.
const clockStart = Date.parse(process.env.RELCAL_NOW ?? "2026-12-01T09:00:00Z");
if (Number.isNaN(clockStart)) throw new Error(`RELCAL_NOW=${process.env.RELCAL_NOW} is not an instant`);
const realStart = Date.now();
export const now = () => new Date(clockStart + (Date.now() - realStart));
export const withClock = (options = {}) => ({ ...options, env: { ...(options.env ?? process.env), RELCAL_NOW: now().toISOString() } });
export const spawn = (cmd, args, options) => child.spawn(cmd, args, withClock(options));
export const spawnSync = (cmd, args, options) => child.spawnSync(cmd, args, withClock(options));

export async function wd(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.value;
}

export async function startDriver(env) {
  const driver = spawn("tauri-driver", ["--port", String(port)], { env, stdio: ["ignore", "inherit", "inherit"] });
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${base}/status`);
      return driver;
    } catch {
      await sleep(100);
    }
  }
  driver.kill();
  throw new Error("tauri-driver did not start on port " + port);
}

/** Polls the page text until `pred` holds or the time runs out. */
export async function waitForText(session, pred, what, ms = 30000) {
  const until = Date.now() + ms;
  let text = "";
  while (Date.now() < until) {
    text = await wd("POST", `/session/${session}/execute/sync`, {
      script: "return document.body ? document.body.innerText : ''",
      args: [],
    });
    if (pred(text)) return text;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}; the window shows:\n${text}`);
}

/** The element matching `css`, waiting for it to appear (the UI renders after IPC answers). */
export async function element(session, css, ms = 15000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await wd("POST", `/session/${session}/element`, { using: "css selector", value: css });
    } catch (e) {
      if (Date.now() > until) throw new Error(`no element ${css}: ${e.message}`);
      await sleep(150);
    }
  }
}

export async function snap(session, name) {
  const png = await wd("GET", `/session/${session}/screenshot`);
  writeFileSync(join(artifacts, `${name}.png`), Buffer.from(png, "base64"));
}

/** The app on `db` under a WebDriver session, given to `check`; `args`: the app's own arguments. */
export async function withApp(db, name, check, extraEnv = {}, args = []) {
  // The window's remembered size and place (window-state) and the login entry live
  // under the config folder: each run gets its own unless a test shares one.
  const config = mkdtempSync(join(tmpdir(), "relcal-e2e-config-"));
  const env = { ...process.env, RELCAL_DB: db, RELCAL_LOG: "warn", XDG_CONFIG_HOME: config, ...extraEnv };
  const driver = await startDriver(env);
  let session;
  try {
    const created = await wd("POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application: app, args } } },
    });
    session = created.sessionId;
    // Settings (the display zone) live in the webview's storage, shared by every run: start clean.
    const hadSettings = await wd("POST", `/session/${session}/execute/sync`, {
      script: "const had = localStorage.length > 0; localStorage.clear(); return had;",
      args: [],
    });
    if (hadSettings) await wd("POST", `/session/${session}/refresh`, {});
    await check(session);
  } finally {
    if (session) {
      try {
        await snap(session, name);
      } catch (e) {
        console.error(`could not save a screenshot: ${e.message}`);
      }
      await wd("DELETE", `/session/${session}`).catch(() => {});
    }
    driver.kill();
    await sleep(300);
  }
}

let failures = 0;
let passes = 0;
/** Ends the run: how many passed and failed, and the exit code. */
export function finish(what) {
  console.log(`${what}: ${passes} passed, ${failures} failed`);
  process.exit(failures === 0 ? 0 : 1);
}
export async function test(name, fn) {
  try {
    await fn();
    passes++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failures++;
    console.log(`not ok - ${name}\n${e.stack ?? e}`);
  }
}

export const dir = mkdtempSync(join(tmpdir(), "relcal-e2e-"));

/** Runs `script` in the window and returns its value. */
export const run = (session, script) => wd("POST", `/session/${session}/execute/sync`, { script, args: [] });
/** Presses a key the way the app listens for it (on the window). */
export const press = (session, key, ctrl = false) =>
  run(session, `window.dispatchEvent(new KeyboardEvent('keydown', { key: ${JSON.stringify(key)}, ctrlKey: ${ctrl}, bubbles: true }))`);
/** Clicks the element matching `css`, waiting for it. */
export async function clickOn(session, css) {
  const el = await element(session, css);
  await wd("POST", `/session/${session}/element/${Object.values(el)[0]}/click`, {});
}
/** Chooses `value` in the select matching `css` (as a person would: the change event follows). */
export async function choose(session, css, value) {
  await element(session, css);
  await run(session, `const s = document.querySelector(${JSON.stringify(css)}); s.value = ${JSON.stringify(value)};
    s.dispatchEvent(new Event('change', { bubbles: true }));`);
}
/** Types `text` into the input matching `css`, replacing what was there. */
export async function type(session, css, text) {
  const el = await element(session, css);
  await wd("POST", `/session/${session}/element/${Object.values(el)[0]}/clear`, {});
  await wd("POST", `/session/${session}/element/${Object.values(el)[0]}/value`, { text });
}
/** A private session bus with a real notification daemon (dunst) and a recorder of Notify calls. */
export async function withNotificationDaemon(fn) {
  const launched = spawnSync("dbus-launch", ["--sh-syntax"], { encoding: "utf8" });
  const address = /DBUS_SESSION_BUS_ADDRESS='([^']+)'/.exec(launched.stdout)?.[1];
  const busPid = /DBUS_SESSION_BUS_PID=(\d+)/.exec(launched.stdout)?.[1];
  if (!address) throw new Error(`dbus-launch failed: ${launched.stderr}`);
  const busEnv = { ...process.env, DBUS_SESSION_BUS_ADDRESS: address };
  const dunst = spawn("dunst", ["-config", "/dev/null"], { env: busEnv, stdio: "ignore" });
  const monitorLog = join(dir, `monitor-${Date.now()}.log`);
  const monitor = spawn("sh", ["-c", `exec dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" > ${monitorLog}`], { env: busEnv, stdio: "ignore" });
  try {
    await sleep(800);
    await fn({ address, busEnv, monitorLog });
  } finally {
    monitor.kill();
    dunst.kill();
    if (busPid) spawnSync("kill", [busPid]);
  }
}

