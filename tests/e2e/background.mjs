// The real app as a desktop program left running: closing its window hides it
// to the tray (notifications still come, once), a second launch shows the
// running window, Quit in the tray ends it, the window's size and place come
// back, and the login entry is written, removed and starts the app hidden.
//
// Under Xvfb with no window manager: tests/desktop/desk.py plays the window
// manager (the close button: WM_DELETE_WINDOW) and the tray host (the tray's
// menu over D-Bus), on a private session bus with a real dunst.
//
// Run through `make e2e`.
import * as child from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { app, clickOn, dir, finish, now, press, relcal, root, run, sleep, spawn, spawnSync, test, waitForText, wd, withApp, withNotificationDaemon } from "./driver.mjs";

const desk = (env, ...args) => {
  const out = child.spawnSync("/usr/bin/python3", [join(root, "tests/desktop/desk.py"), ...args], { env, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`desk.py ${args.join(" ")}: ${out.stderr}`);
  return JSON.parse(out.stdout);
};
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function until(what, pred, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await pred();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}
/** The one Relcal window on the display. */
const theWindow = async (env) => {
  const shown = await until("the Relcal window", () => desk(env, "windows").length > 0 && desk(env, "windows"));
  if (shown.length !== 1) throw new Error(`expected one Relcal window, found ${JSON.stringify(shown)}`);
  return shown[0];
};
const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
/** A calendar whose one freeze has its one-hour notice due `inSeconds` from now. */
function calendar(name, inSeconds) {
  const start = new Date(now().getTime() + 3600_000 + inSeconds * 1000);
  const plan = {
    version: 1,
    timezone: "UTC",
    teams: [{ id: "web", name: "Web" }],
    services: [{ id: "site", team: "web" }],
    environments: [{ id: "live", name: "Live" }],
    freezes: [{ id: "launch", name: "Launch freeze", severity: "hard", start: iso(start), end: iso(new Date(start.getTime() + 7200_000)) }],
    releases: [],
  };
  const planPath = join(dir, `${name}.json`);
  writeFileSync(planPath, JSON.stringify(plan));
  const db = join(dir, `${name}.db`);
  const imported = spawnSync(relcal, ["import", planPath, "--db", db], { encoding: "utf8" });
  if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);
  return db;
}
/** A home of its own (the login entry, the window's state, the webview's data). */
function home(name) {
  const h = join(dir, `home-${name}`);
  mkdirSync(h, { recursive: true });
  return { HOME: h, XDG_CONFIG_HOME: join(h, ".config"), XDG_DATA_HOME: join(h, ".local/share") };
}
/** Settings (S) ▸ Notifications. */
async function openNotificationSettings(session) {
  await press(session, "s");
  await waitForText(session, (t) => t.includes("Calendar settings"), "the settings");
  await run(session, `[...document.querySelectorAll("[role=tab]")].find((b) => b.textContent.trim() === "Notifications").click()`);
  await waitForText(session, (t) => t.includes("Keep running in the background"), "Settings ▸ Notifications");
}
const notices = (log, summary) => log.split(`string "${summary}"`).length - 1;

await test("closing the window keeps Relcal in the tray: a freeze notice due later comes once, a second launch shows the window, Quit ends it", async () => {
  await withNotificationDaemon(async ({ address, busEnv, monitorLog }) => {
    const db = calendar("background", 25);
    const env = { ...busEnv, ...home("background"), RELCAL_DB: db, RELCAL_LOG: "warn" };
    await withApp(
      db,
      "background-shown-again",
      async (session) => {
        await waitForText(session, (t) => t.includes("Launch freeze"), "the window");
        const first = await theWindow(env);
        if (!first.shown || !first.pid) throw new Error(`the window is not shown: ${JSON.stringify(first)}`);
        // The close button.
        desk(env, "close");
        await until("the window hidden", () => !desk(env, "windows")[0]?.shown);
        await sleep(1000);
        if (!alive(first.pid)) throw new Error("closing the window ended the app");
        await until("the still-running notice", () => readFileSync(monitorLog, "utf8").includes('string "Relcal is still running"'), 10_000);
        // The freeze notice falls due while the window is hidden: shown once.
        await until("the freeze notice", () => readFileSync(monitorLog, "utf8").includes('string "Launch freeze starts in 1 hour"'), 60_000);
        await sleep(5000);
        const log = readFileSync(monitorLog, "utf8");
        if (notices(log, "Launch freeze starts in 1 hour") !== 1) throw new Error(`the freeze notice came ${notices(log, "Launch freeze starts in 1 hour")} times:\n${log}`);
        if (notices(log, "Relcal is still running") !== 1) throw new Error("the still-running notice came more than once");
        // A second launch hands over to the running app and ends.
        const second = spawn(app, [], { env, stdio: "ignore" });
        const code = await new Promise((done) => second.on("exit", done));
        if (code !== 0) throw new Error(`the second launch exited with ${code}`);
        const back = await until("the window shown again", () => desk(env, "windows").find((w) => w.shown));
        if (back.pid !== first.pid) throw new Error(`another app showed a window: ${JSON.stringify(back)}`);
        if (desk(env, "windows").length !== 1) throw new Error("a second window opened");
        await waitForText(session, (t) => t.includes("Launch freeze"), "the calendar in the window shown again");
        // Closing again says nothing more.
        desk(env, "close");
        await until("the window hidden again", () => !desk(env, "windows")[0]?.shown);
        await sleep(1000);
        if (notices(readFileSync(monitorLog, "utf8"), "Relcal is still running") !== 1) throw new Error("the still-running notice came again");
        // Quit in the tray ends the process.
        const labels = await until("the tray menu", () => desk(env, "tray"));
        for (const l of ["Show Relcal", "Quit Relcal"]) if (!labels.includes(l)) throw new Error(`the tray lacks ${l}: ${labels}`);
        desk(env, "tray-click", "Quit Relcal");
        await until("the app to end", () => !alive(first.pid), 10_000);
      },
      { ...home("background"), DBUS_SESSION_BUS_ADDRESS: address },
    );
  });
});

await test("with Keep running in the background off, closing the window quits", async () => {
  await withNotificationDaemon(async ({ address, busEnv }) => {
    const db = calendar("quits", 3600);
    const env = { ...busEnv, ...home("quits") };
    await withApp(
      db,
      "background-off",
      async (session) => {
        await waitForText(session, (t) => t.includes("Launch freeze"), "the window");
        await openNotificationSettings(session);
        await clickOn(session, "input[aria-label='Keep running in the background']");
        await waitForText(session, (t) => t.includes("Closing the window now quits Relcal."), "the setting saved");
        const w = await theWindow(env);
        desk(env, "close");
        await until("the app to end", () => !alive(w.pid), 10_000);
      },
      { ...home("quits"), DBUS_SESSION_BUS_ADDRESS: address },
    );
  });
});

await test("the window opens again at the size and place it had", async () => {
  await withNotificationDaemon(async ({ address, busEnv }) => {
    const db = calendar("geometry", 3600);
    const own = home("geometry");
    const env = { ...busEnv, ...own };
    const wanted = { x: 140, y: 70, width: 1150, height: 720 };
    let had;
    await withApp(
      db,
      "window-state-before",
      async (session) => {
        await waitForText(session, (t) => t.includes("Launch freeze"), "the window");
        await wd("POST", `/session/${session}/window/rect`, wanted);
        await sleep(1000);
        had = await theWindow(env);
        if (Math.abs(had.width - wanted.width) > 2 || Math.abs(had.height - wanted.height) > 60) throw new Error(`the window was not resized: ${JSON.stringify(had)}`);
        desk(env, "tray-click", "Quit Relcal");
        await until("the app to end", () => !alive(had.pid), 10_000);
      },
      { ...own, DBUS_SESSION_BUS_ADDRESS: address },
    );
    if (!existsSync(join(own.XDG_CONFIG_HOME, "dev.relcal.app/.window-state.json"))) throw new Error("the window's state was not saved");
    await withApp(
      db,
      "window-state-after",
      async (session) => {
        await waitForText(session, (t) => t.includes("Launch freeze"), "the window");
        const again = await theWindow(env);
        for (const k of ["x", "y", "width", "height"]) {
          if (Math.abs(again[k] - had[k]) > 2) throw new Error(`the window came back at ${JSON.stringify(again)}, not ${JSON.stringify(had)}`);
        }
      },
      { ...own, DBUS_SESSION_BUS_ADDRESS: address },
    );
  });
});

await test("Start at login writes and removes the login entry, and the entry starts Relcal hidden in the tray", async () => {
  await withNotificationDaemon(async ({ address, busEnv }) => {
    const db = calendar("login", 3600);
    const own = home("login");
    const env = { ...busEnv, ...own };
    const entry = join(own.HOME, ".config/autostart/Relcal.desktop");
    await withApp(
      db,
      "start-at-login",
      async (session) => {
        await waitForText(session, (t) => t.includes("Launch freeze"), "the window");
        await openNotificationSettings(session);
        await clickOn(session, "input[aria-label='Start at login']");
        await waitForText(session, (t) => t.includes("Relcal will start at login, in the tray."), "the entry written");
        if (!existsSync(entry)) throw new Error(`no login entry at ${entry}`);
        await clickOn(session, "input[aria-label='Start at login']");
        await waitForText(session, (t) => t.includes("Relcal will no longer start at login."), "the entry removed");
        if (existsSync(entry)) throw new Error("the login entry is still there");
        await clickOn(session, "input[aria-label='Start at login']");
        await waitForText(session, (t) => t.includes("Relcal will start at login, in the tray."), "the entry written again");
        desk(env, "tray-click", "Quit Relcal");
        const w = desk(env, "windows")[0];
        if (w) await until("the app to end", () => !alive(w.pid), 10_000);
      },
      { ...own, DBUS_SESSION_BUS_ADDRESS: address },
    );
    const text = readFileSync(entry, "utf8");
    const exec = /^Exec=(.*)$/m.exec(text)?.[1];
    if (!exec || !exec.startsWith(app) || !exec.endsWith(" --hidden")) throw new Error(`the entry does not start the app hidden:\n${text}`);
    // Log in: the session starts what the entry says.
    const [bin, ...args] = exec.split(" ");
    const started = spawn(bin, args, { env: { ...env, RELCAL_DB: db, RELCAL_LOG: "warn" }, stdio: "ignore" });
    try {
      await until("the tray of the app started at login", () => desk(env, "tray"), 30_000);
      await sleep(1500);
      const hidden = desk(env, "windows");
      if (hidden.some((w) => w.shown)) throw new Error(`started at login, the window is shown: ${JSON.stringify(hidden)}`);
      desk(env, "tray-click", "Show Relcal");
      await until("the window shown from the tray", () => desk(env, "windows").find((w) => w.shown));
      desk(env, "tray-click", "Quit Relcal");
      await until("the app to end", () => started.exitCode !== null, 10_000);
    } finally {
      started.kill();
    }
  });
});

await test("the native menu bar drives the window: View ▸ Week, Help ▸ Keyboard shortcuts, File ▸ Quit (Ctrl+Q)", async () => {
  await withNotificationDaemon(async ({ address, busEnv }) => {
    const db = calendar("menu", 3600);
    const own = home("menu");
    const env = { ...busEnv, ...own };
    // Keys as a person presses them, to the GTK window (not the web page): the pointer over
    // the window gives it the keyboard (no window manager here), F10 opens the menu bar.
    const keys = (...k) => {
      const out = child.spawnSync("xdotool", ["mousemove", "600", "400", "sleep", "0.2", "key", "--delay", "150", ...k], { env, encoding: "utf8" });
      if (out.status !== 0) throw new Error(`xdotool: ${out.stderr}`);
    };
    await withApp(
      db,
      "native-menu",
      async (session) => {
        await waitForText(session, (t) => t.includes("Launch freeze"), "the window");
        const w = await theWindow(env);
        // View is the third menu; Week its second item.
        keys("F10", "Right", "Right", "Down", "Down", "Return");
        await until("the week view", () => run(session, "return !!document.querySelector('.fc-timeGridWeek-view')"), 10_000);
        // Help ▸ Keyboard shortcuts.
        keys("F10", "Left", "Down", "Return");
        await waitForText(session, (t) => t.includes("Undo the last change"), "the shortcuts list", 10_000);
        await press(session, "Escape");
        keys("ctrl+q");
        await until("the app to end", () => !alive(w.pid), 10_000);
      },
      { ...own, DBUS_SESSION_BUS_ADDRESS: address },
    );
  });
});

finish("e2e background");
