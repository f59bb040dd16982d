// Browser tests of the UI alone: the harness build (IPC mocked by
// @tauri-apps/api/mocks, see src/lib/fake-backend.ts) in Debian's Chromium,
// driven by playwright-core. The real app window is tested in tests/e2e/.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { extname, join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../dist-harness");
const artifacts = resolve(import.meta.dirname, "../../artifacts/browser");
await mkdir(artifacts, { recursive: true });
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
  const file = join(root, path === "/" ? "harness.html" : path);
  if (!file.startsWith(root)) return res.writeHead(403).end();
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

// The day the tests run on: RELCAL_NOW, or a fixed Tuesday, never today's date
// (scripts/each-day.sh runs them on every day of a week).
const NOW = new Date(process.env.RELCAL_NOW ?? "2026-12-01T09:00:00Z");
if (Number.isNaN(NOW.getTime())) throw new Error(`RELCAL_NOW=${process.env.RELCAL_NOW} is not an instant`);

let passed = 0,
  failed = 0;
async function test(name, fn, { query = "", ready = "Checkout launch" } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "UTC" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    const sep = query ? "&" : "?";
    await page.goto(`${url}${query}${sep}now=${encodeURIComponent(NOW.toISOString())}`);
    await page.getByText(ready).first().waitFor({ timeout: 15000 });
    await fn(page);
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n${e.stack ?? e}`);
  } finally {
    await page.screenshot({ path: join(artifacts, `${name.replace(/\W+/g, "-")}.png`) }).catch(() => {});
    await context.close();
  }
}

const DAY = 86400000;
const today = NOW;
const weekday = (today.getUTCDay() + 6) % 7;
const freezeDay = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) + (weekday < 6 ? DAY : -DAY)).toISOString().slice(0, 10);

await test("dragging a release into a freeze shows the conflict at once, and undo takes it back", async (page) => {
  const release = page.locator(".fc-event.release", { hasText: "Checkout launch" });
  const target = page.locator(`.fc-daygrid-day[data-date="${freezeDay}"]`);
  const from = await release.boundingBox();
  const to = await target.boundingBox();
  await page.mouse.move(from.x + 20, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(from.x + 30, from.y + from.height / 2 + 10, { steps: 3 });
  await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 10 });
  await page.mouse.up();
  const toast = page.getByTestId("change-toast");
  await toast.getByText("new error").waitFor();
  await toast.getByText("Checkout launch overlaps Launch freeze").waitFor();
  // The badge and the panel follow.
  await page.locator(".fc-event.release.conflict-error", { hasText: "Checkout launch" }).waitFor();
  await page.getByTestId("conflicts-panel").getByText("freeze.hard").waitFor();
  await page.keyboard.press("Control+z");
  await toast.getByText("resolved").waitFor();
  await page.getByTestId("conflicts-panel").getByText("No conflicts. Nice.").waitFor();
});

await test(
  "a large calendar shows the calendar at once and the progress of its conflict check, then the conflicts",
  async (page) => {
    // The releases are there while the conflicts are still being checked.
    const panel = page.getByTestId("conflicts-panel");
    await panel.getByRole("status").filter({ hasText: "Checking 100,000 releases for conflicts… (step 2 of 2)" }).waitFor();
    await panel.getByText("Checking…").waitFor();
    await page.getByRole("status", { name: "Checking 100,000 releases for conflicts, step 2 of 2" }).waitFor();
    await page.screenshot({ path: join(artifacts, "opening-progress.png") });
    // No counts are shown before they are known.
    if (await panel.getByText("0 errors").count()) throw new Error("counts shown while checking");
    // Done: the app then loads the conflicts (here on returning to the window).
    await page.evaluate(() => window.__TAURI_INTERNALS__.invoke("test_finish_opening"));
    await page.evaluate(() => window.dispatchEvent(new Event("focus")));
    await panel.getByText("No conflicts. Nice.").waitFor();
    await panel.getByText("0 errors").waitFor();
    await panel.getByRole("status").waitFor({ state: "detached" });
  },
  { query: "?opening=1" },
);

await test("filtering by team or service hides the other releases", async (page) => {
  await page.getByLabel("Show team").selectOption("identity");
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).waitFor({ state: "detached" });
  if (!(await page.locator(".fc-event.release", { hasText: "Auth rotation" }).isVisible())) throw new Error("Auth rotation hidden");
  await page.getByLabel("Show team").selectOption("all");
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).waitFor();
  await page.getByLabel("Show service").selectOption("checkout-api");
  await page.locator(".fc-event.release", { hasText: "Auth rotation" }).waitFor({ state: "detached" });
  await page.getByLabel("Show service").selectOption("all");
  await page.locator(".fc-event.release", { hasText: "Auth rotation" }).waitFor();
  const fetches = () => page.evaluate(() => globalThis.relcalCalls?.calendar_view ?? 0);
  const before = await fetches();
  await page.keyboard.press("/");
  await page.keyboard.type("auth");
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).waitFor({ state: "detached" });
  // Filtering redraws what was loaded: no new fetch (nor conflict check) per keystroke.
  if ((await fetches()) !== before) throw new Error(`typing refetched: ${before} -> ${await fetches()}`);
});

await test("week and agenda views and the keyboard", async (page) => {
  await page.keyboard.press("w");
  await page.locator(".fc-timeGridWeek-view").waitFor();
  await page.locator(".fc-timegrid-event", { hasText: "Checkout launch" }).waitFor();
  await page.keyboard.press("a");
  await page.locator(".fc-list").getByText("Auth rotation").waitFor();
  await page.keyboard.press("m");
  await page.locator(".fc-dayGridMonth-view").waitFor();
  await page.keyboard.press("c");
  await page.getByTestId("conflicts-panel").waitFor({ state: "detached" });
});

await test("the native menu bar's items run the window's actions: views, go/no-go, conflicts, shortcuts", async (page) => {
  // The shell sends relcal://menu with the item's id (src-tauri/src/desktop.rs).
  const choose = (id) => page.evaluate((id) => window.__TAURI_INTERNALS__.invoke("plugin:event|emit", { event: "relcal://menu", payload: id }), id);
  await choose("week");
  await page.locator(".fc-timeGridWeek-view").waitFor();
  await choose("agenda");
  await page.locator(".fc-list").getByText("Auth rotation").waitFor();
  await choose("goNoGo");
  await page.getByTestId("go-no-go").waitFor();
  await choose("cab");
  await page.getByTestId("cab-agenda").waitFor();
  await choose("metrics");
  await page.getByTestId("metrics").waitFor();
  // Back to the calendar, at the month, from another layout.
  await choose("month");
  await page.locator(".fc-dayGridMonth-view").waitFor();
  await page.keyboard.press("c");
  await page.getByTestId("conflicts-panel").waitFor({ state: "detached" });
  await choose("conflicts");
  await page.getByTestId("conflicts-panel").waitFor();
  await choose("help");
  await page.getByTestId("shortcuts").getByText("Undo the last change").waitFor();
});

await test("Settings ▸ Notifications: keep running in the background and start at login apply at once", async (page) => {
  await page.keyboard.press("s");
  await page.getByRole("tab", { name: "Notifications" }).click();
  const keep = page.getByLabel("Keep running in the background");
  if (!(await keep.isChecked())) throw new Error("keep running is off by default");
  await keep.uncheck();
  await page.getByText("Closing the window now quits Relcal.").waitFor();
  await page.getByLabel("Start at login").check();
  await page.getByText("Relcal will start at login, in the tray.").waitFor();
  const saved = await page.evaluate(() => window.__TAURI_INTERNALS__.invoke("background_settings"));
  if (saved.keep_running !== false || saved.start_at_login !== true) throw new Error(`saved: ${JSON.stringify(saved)}`);
});

await test("clicking a release opens its details; Escape closes them", async (page) => {
  await page.locator(".fc-event.release", { hasText: "Auth rotation" }).click();
  const panel = page.getByTestId("release-panel");
  await panel.getByText("Identity · Staging").waitFor();
  await page.keyboard.press("Escape");
  await panel.waitFor({ state: "detached" });
});

await test("switching the time zone moves the times shown", async (page) => {
  await page.locator(".fc-event.release", { hasText: "10:00" }).first().waitFor();
  await page.getByLabel("Time zone").selectOption("America/New_York");
  // 10:00 UTC is 05:00 (EST) or 06:00 (EDT) in New York.
  await page
    .locator(".fc-event.release", { hasText: /0[56]:00/ })
    .first()
    .waitFor();
});

await test("creating a release in a freeze shows the conflict; cancelling it clears it", async (page) => {
  await page.keyboard.press("n");
  const form = page.getByTestId("release-form");
  await form.waitFor();
  await form.getByPlaceholder("checkout 2.1").fill("Hotfix");
  await form.getByLabel("Start", { exact: true }).fill(`${freezeDay}T09:00`);
  await form.getByLabel("End", { exact: true }).fill(`${freezeDay}T10:00`);
  // The conflict shows before saving.
  await form.getByTestId("release-preview").getByText("Hotfix overlaps Launch freeze").waitFor();
  await form.getByTestId("release-preview").getByText("new error").waitFor();
  await form.getByRole("button", { name: "Create release" }).click();
  const toast = page.getByTestId("change-toast");
  await toast.getByText("Created Hotfix").waitFor();
  await toast.getByText("Hotfix overlaps Launch freeze").waitFor();
  await page.locator(".fc-event.release", { hasText: "Hotfix" }).waitFor();
  // The new release's panel opens; cancelling it resolves the conflict.
  const panel = page.getByTestId("release-panel");
  await panel.getByRole("button", { name: "Cancel release" }).click();
  await toast.getByText("Cancelled Hotfix").waitFor();
  await toast.getByText("resolved").waitFor();
});

await test("find a slot fills the first start after the freeze, says why earlier times were refused, and puts back the typed times", async (page) => {
  await page.keyboard.press("n");
  const form = page.getByTestId("release-form");
  await form.waitFor();
  await form.getByPlaceholder("checkout 2.1").fill("Hotfix");
  // A typed start in the freeze (or, when the freeze day is past, "now", which the search starts from).
  const dayAfter = new Date(Date.parse(`${freezeDay}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
  const typedStart = Date.parse(`${freezeDay}T09:00:00Z`) > NOW.getTime() ? `${freezeDay}T09:00` : null;
  if (typedStart) {
    await form.getByLabel("Start", { exact: true }).fill(typedStart);
    await form.getByLabel("End", { exact: true }).fill(`${freezeDay}T10:30`);
  }
  const finder = form.getByTestId("slot-finder");
  await finder.getByRole("button", { name: "Find a slot" }).click();
  await finder.getByRole("status").getByText("Earliest slot:").waitFor();
  if (typedStart) {
    // The freeze ends at midnight: the slot keeps the 90 minutes.
    await finder
      .getByText(`to ${Number(dayAfter.slice(8))}`, { exact: false })
      .first()
      .waitFor();
    if ((await form.getByLabel("Start", { exact: true }).inputValue()) !== `${dayAfter}T00:00`) throw new Error("the start was not filled");
    if ((await form.getByLabel("End", { exact: true }).inputValue()) !== `${dayAfter}T01:30`) throw new Error("the end was not filled");
    await finder.getByTestId("slot-skipped").getByText("freeze.hard").waitFor();
    await finder.getByTestId("slot-skipped").getByText("Launch freeze (hard)").waitFor();
    // The preview checks the filled times: no conflict.
    await form.getByTestId("release-preview").getByText("No conflicts.").waitFor();
    await finder.getByRole("button", { name: "Put back the times typed" }).click();
    if ((await form.getByLabel("Start", { exact: true }).inputValue()) !== typedStart) throw new Error("the typed start was not put back");
  }
  // A bad length is refused before asking, and said.
  await form.getByLabel("End", { exact: true }).fill(`${freezeDay}T00:00`);
  await form.getByLabel("Start", { exact: true }).fill(`${freezeDay}T05:00`);
  await page.keyboard.press("Alt+f");
  await finder.getByRole("alert").getByText("The end must be after the start").waitFor();
  await form.getByRole("button", { name: "Cancel" }).click();
});

await test("the release form names the field of a refused edit and keeps what was typed", async (page) => {
  await page.locator(".fc-event.release", { hasText: "Auth rotation" }).click();
  await page.getByTestId("release-panel").getByRole("button", { name: "Edit" }).click();
  const form = page.getByTestId("release-form");
  await page.screenshot({ path: join(artifacts, "release-form.png") });
  // Auth rotation starts today at 14:00: an end at midnight this morning is before it, whatever the date.
  await form.getByLabel("End", { exact: true }).fill(`${today.toISOString().slice(0, 10)}T00:00`);
  await form.getByRole("button", { name: "Save" }).click();
  await form.getByRole("alert").getByText("field `end`: must be after start").waitFor();
  await form.getByRole("button", { name: "Cancel" }).click();
  await form.waitFor({ state: "detached" });
});

await test("the team timeline shows teams as lanes, releases as bars and freezes as bands", async (page) => {
  await page.keyboard.press("l");
  const lanes = page.getByTestId("team-timeline");
  await lanes.locator(".vis-label", { hasText: "Payments" }).waitFor();
  await lanes.locator(".vis-label", { hasText: "Identity" }).waitFor();
  await lanes.locator(".vis-item.release", { hasText: "Checkout launch" }).waitFor();
  await lanes.locator(".vis-item.vis-background.freeze-hard").first().waitFor();
  await page.screenshot({ path: join(artifacts, "team-timeline.png") });
  // Clicking a bar opens the release.
  await lanes.locator(".vis-item.release", { hasText: "Auth rotation" }).click();
  await page.getByTestId("release-panel").getByText("Identity · Staging").waitFor();
  await page.keyboard.press("Escape");
  await page.keyboard.press("l");
  await page.locator(".fc-dayGridMonth-view").waitFor();
});

await test("the dark theme can be chosen and is remembered", async (page) => {
  await page.getByLabel("Theme").selectOption("dark");
  const dark = await page.evaluate(() => [document.documentElement.dataset.theme, getComputedStyle(document.documentElement).backgroundColor]);
  if (dark[0] !== "dark" || dark[1] !== "rgb(13, 17, 23)") throw new Error(`not dark: ${dark}`);
  await page.screenshot({ path: join(artifacts, "dark-theme.png") });
  await page.reload();
  await page.getByText("Checkout launch").first().waitFor();
  const again = await page.evaluate(() => document.documentElement.dataset.theme);
  if (again !== "dark") throw new Error("the theme was not remembered");
});

await test("editing a recurring freeze: the builder writes the rule, the preview follows, save and undo", async (page) => {
  await page.keyboard.press("s");
  const settings = page.getByTestId("settings");
  await settings.getByRole("button", { name: "Edit No Friday deploys" }).waitFor();
  await page.screenshot({ path: join(artifacts, "settings-freezes.png") });
  await settings.getByRole("button", { name: "Edit No Friday deploys" }).click();
  const form = page.getByTestId("freeze-form");
  // The stored rule is read back into the builder.
  if ((await form.getByLabel("Frequency").inputValue()) !== "weekly") throw new Error("the builder did not read FREQ=WEEKLY");
  if (!(await form.getByLabel("Friday").isChecked())) throw new Error("Friday is not ticked");
  const words = form.getByTestId("freeze-words");
  await words.filter({ hasText: "rule FREQ=WEEKLY;BYDAY=FR for PT12H (Europe/Berlin)" }).waitFor();
  await page.screenshot({ path: join(artifacts, "freeze-form.png") });
  // Last Friday of the month.
  await form.getByLabel("Frequency").selectOption("monthly_nth");
  await form.getByLabel("Which week").selectOption("-1");
  await form.getByLabel("Weekday").selectOption("FR");
  await words.filter({ hasText: "rule FREQ=MONTHLY;BYDAY=-1FR for PT12H" }).waitFor();
  // Skipping an occurrence from the preview adds an exception.
  await form.getByTestId("freeze-next").getByRole("button", { name: "skip" }).first().click();
  await form.getByRole("button", { name: /^Remove exception/ }).waitFor();
  const sent = await page.evaluate(() => globalThis.relcalCalls.preview_freeze);
  await form.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("change-toast").getByText("Saved freeze No Friday deploys").waitFor();
  await settings.getByText("rule FREQ=MONTHLY;BYDAY=-1FR for PT12H").waitFor();
  if (sent < 2) throw new Error(`the preview was asked ${sent} times; it should follow the change`);
  await page.keyboard.press("Escape");
  await page.keyboard.press("Control+z");
  await page.keyboard.press("s");
  await page.getByTestId("settings").getByText("rule FREQ=WEEKLY;BYDAY=FR for PT12H").waitFor();
});

await test("the freeze preview warns of a start in a daylight-saving gap and says what happens", async (page) => {
  await page.keyboard.press("f");
  const form = page.getByTestId("freeze-form");
  await form.getByLabel("Name").fill("Backup");
  await form.getByLabel("Time zone").fill("Europe/Berlin");
  await form.getByText("Repeats", { exact: true }).first().click();
  await form.getByLabel("Frequency").selectOption("daily");
  await form.getByLabel("Start").fill("2027-01-01T02:30");
  const dst = form.getByTestId("freeze-dst");
  await dst.getByText("28 Mar 2027 02:30 does not exist in Europe/Berlin (the clocks go forward); this occurrence starts at 03:30").waitFor();
  // At an ordinary hour the warning goes.
  await form.getByLabel("Start").fill("2027-01-01T12:30");
  await dst.waitFor({ state: "detached" });
  await page.keyboard.press("Escape");
});

await test("a custom rule the engine refuses shows its message with the field, and cannot be saved", async (page) => {
  await page.keyboard.press("f");
  const form = page.getByTestId("freeze-form");
  await form.getByLabel("Name").fill("Odd freeze");
  await form.getByText("Repeats", { exact: true }).first().click();
  await form.getByLabel("Frequency").selectOption("custom");
  await form.getByLabel("RRULE").fill("BYDAY=MO");
  await form.getByTestId("preview-error").filter({ hasText: "field `rrule`" }).waitFor();
  if (!(await form.getByRole("button", { name: "Create freeze" }).isDisabled())) throw new Error("a refused rule can be saved");
  await form.getByLabel("RRULE").fill("FREQ=DAILY;COUNT=3");
  await form.getByTestId("freeze-words").filter({ hasText: "rule FREQ=DAILY;COUNT=3" }).waitFor();
  await form.getByRole("button", { name: "Create freeze" }).click();
  await page.getByTestId("change-toast").getByText("Created freeze Odd freeze").waitFor();
});

await test("teams are added and edited in settings; a team in use cannot be deleted", async (page) => {
  await page.getByRole("button", { name: "Calendar ▾" }).click();
  await page.getByRole("menuitem", { name: /Freezes, teams and environments/ }).click();
  const settings = page.getByTestId("settings");
  await settings.getByRole("tab", { name: "Teams" }).click();
  await settings.getByRole("button", { name: "+ Add team" }).click();
  await page.screenshot({ path: join(artifacts, "settings-teams.png") });
  await settings.getByLabel("Team id").fill("search");
  await settings.getByLabel("Team name").fill("Search");
  await settings.getByRole("button", { name: "Add team" }).click();
  await page.getByTestId("change-toast").getByText("Created team Search").waitFor();
  await settings
    .getByRole("cell", { name: /Search/ })
    .first()
    .waitFor();
  await settings.getByRole("button", { name: "Delete Payments" }).click();
  await settings.getByRole("alert").filter({ hasText: 'team "payments" cannot be deleted: 1 releases use it' }).waitFor();
});

await test("import asks before replacing the calendar; export says where it wrote", async (page) => {
  await page.keyboard.press("Control+o");
  const confirm = page.getByTestId("import-confirm");
  await confirm.getByText("/home/ana/plans/q1.json").waitFor();
  await confirm.getByText("12 releases").waitFor();
  // What it would change here, before anything is replaced.
  await confirm.getByTestId("import-changes").filter({ hasText: "adds 5 objects, changes 3 and removes 4 (3 releases among them)" }).waitFor();
  // Sync is off here: nothing is said of a server.
  if ((await confirm.getByTestId("import-synced").count()) !== 0) throw new Error("a server warning without sync");
  await confirm.getByRole("button", { name: "Cancel" }).click();
  if ((await page.evaluate(() => globalThis.relcalCalls.import_chosen_plan ?? 0)) !== 0) throw new Error("cancel imported");
  await page.keyboard.press("Control+o");
  await confirm.getByRole("button", { name: "Replace calendar" }).click();
  await page.getByTestId("notice").getByText("Imported /home/ana/plans/q1.json").waitFor();
  await page.keyboard.press("Control+s");
  await page.getByTestId("notice").getByText("to /home/ana/relcal-plan.json").waitFor();
});

await test("deleting a release from its panel; undo brings it back", async (page) => {
  await page.locator(".fc-event.release", { hasText: "Auth rotation" }).click();
  await page.getByTestId("release-panel").getByRole("button", { name: "Delete" }).click();
  await page.getByTestId("change-toast").getByText("Deleted release Auth rotation").waitFor();
  await page.locator(".fc-event.release", { hasText: "Auth rotation" }).waitFor({ state: "detached" });
  await page.getByTestId("change-toast").getByRole("button", { name: "Undo" }).click();
  await page.locator(".fc-event.release", { hasText: "Auth rotation" }).waitFor();
});

await test(
  "2,000 releases in a month: busy days fold into one entry that opens the day's agenda",
  async (page) => {
    const folded = page.locator(".fc-event.more-releases").first();
    await folded.waitFor();
    const text = await folded.textContent();
    if (!/\+\d+ more releases/.test(text ?? "")) throw new Error(`folded entry says ${text}`);
    // Every event the grid got is on screen or folded: far fewer than 2,000 elements.
    const drawn = await page.locator(".fc-event.release").count();
    if (drawn > 400) throw new Error(`${drawn} release elements drawn; busy days should fold`);
    const painted = await page.waitForFunction(() => (globalThis.relcalPaints ?? []).find((p) => p.events >= 2000));
    const sample = await painted.jsonValue();
    console.log(`  (month view painted ${sample.events} events ${sample.ms.toFixed(0)} ms after the IPC answer)`);
    await folded.click();
    await page.locator(".fc-list-event", { hasText: "bulk release" }).first().waitFor();
  },
  { query: "?bulk=2000", ready: "more releases" },
);

await test(
  "the timeline pages through 200 teams, draws dependency arrows, and moves a bar by dragging",
  async (page) => {
    await page.keyboard.press("l");
    const timeline = page.getByTestId("team-timeline");
    await page.getByTestId("lane-page").filter({ hasText: "Teams 1–40 of 200" }).waitFor();
    if ((await timeline.locator(".vis-labelset .vis-label").count()) !== 40) throw new Error("not 40 lanes on a page");
    // checkout depends on auth, which ends after checkout starts: a red arrow.
    const arrow = timeline.locator("svg path[marker-end], svg path[marker-start]").first();
    await arrow.waitFor({ state: "attached" });
    if ((await arrow.evaluate((p) => p.style.stroke || p.getAttribute("stroke"))) !== "rgb(207, 34, 46)")
      throw new Error(`arrow colour ${await arrow.evaluate((p) => p.style.stroke || p.getAttribute("stroke"))}`);
    await page.keyboard.press("PageDown");
    await page.getByTestId("lane-page").filter({ hasText: "Teams 41–80 of 200" }).waitFor();
    await timeline.getByText("Team 41", { exact: true }).waitFor();
    await page.keyboard.press("PageUp");
    // Drag the checkout bar an hour or so to the right.
    const bar = timeline.locator(".vis-item.release", { hasText: "Checkout launch" });
    const box = await bar.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 30, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.getByTestId("change-toast").getByText("Moved Checkout launch").waitFor();
  },
  { query: "?bulk=2000&teams=200", ready: "more releases" },
);

await test("? lists every keyboard shortcut; Escape closes the list", async (page) => {
  await page.keyboard.press("?");
  const help = page.getByTestId("shortcuts");
  await help.getByText("Undo the last change").waitFor();
  await help.getByText("New freeze").waitFor();
  await page.keyboard.press("Escape");
  await help.waitFor({ state: "detached" });
});

await test("the release panel shows its history; the user's name for the audit trail is set in settings", async (page) => {
  await page.locator(".fc-event.release", { hasText: "Auth rotation" }).click();
  await page.getByTestId("release-history").getByText("moved it (changed end, start)").waitFor();
  await page.keyboard.press("Escape");
  await page.keyboard.press("s");
  const name = page.getByTestId("settings").getByLabel("Your name");
  if ((await name.inputValue()) !== "ana") throw new Error(`name field shows ${await name.inputValue()}`);
  await name.fill("Ana Lima");
  await page.getByRole("button", { name: "Save name" }).click();
  await page.getByTestId("notice").getByText("Your changes are now recorded as Ana Lima.").waitFor();
});

await test("approving twice: the owner cannot, a second person can, the panel counts distinct approvers", async (page) => {
  // Checkout launch goes to production (2 approvals) and is run by dana.
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).click();
  const panel = page.getByTestId("release-panel");
  await panel.getByText("0 of 2").waitFor();
  await page.screenshot({ path: join(artifacts, "release-panel-top.png") });
  await panel.getByRole("button", { name: "Approve" }).click();
  await panel.getByText("1 of 2").waitFor();
  await panel.getByRole("button", { name: "Approve" }).click();
  await panel.getByRole("alert").filter({ hasText: "ana has already approved it" }).waitFor();
  await page.keyboard.press("s");
  await page.getByTestId("settings").getByLabel("Your name").fill("li");
  await page.getByRole("button", { name: "Save name" }).click();
  await page.keyboard.press("Escape");
  await panel.getByRole("button", { name: "Approve" }).click();
  await panel.getByText("2 of 2").waitFor();
  await panel.getByRole("button", { name: "Withdraw li's approval" }).click();
  await panel.getByText("1 of 2").waitFor();
});

await test("an approval undoes with Ctrl+Z like every change, and only once", async (page) => {
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).click();
  const panel = page.getByTestId("release-panel");
  await panel.getByText("0 of 2").waitFor();
  await panel.getByRole("button", { name: "Approve" }).click();
  await panel.getByText("1 of 2").waitFor();
  await page.keyboard.press("Control+z");
  await panel.getByText("0 of 2").waitFor();
  // Nothing left to undo: the approval stays undone.
  await page.keyboard.press("Control+z");
  await panel.getByText("0 of 2").waitFor();
  const calls = await page.evaluate(() => globalThis.relcalCalls.undo_change);
  if (calls !== 1) throw new Error(`undo_change called ${calls} times, not once`);
});

await test("a release in a freeze gets an exception with a reason and an approver", async (page) => {
  // Drag-free: the fake's freeze covers a neighbouring day; move Checkout launch into it through the form.
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).click();
  await page.keyboard.press("e");
  const form = page.getByTestId("release-form");
  await form.getByLabel("Start", { exact: true }).fill(`${freezeDay}T09:00`);
  await form.getByLabel("End", { exact: true }).fill(`${freezeDay}T10:00`);
  await form.getByRole("button", { name: "Save" }).click();
  const panel = page.getByTestId("release-panel");
  await panel.getByRole("button", { name: "Request an exception…" }).click();
  await panel.getByLabel("Reason").fill("Launch-day fix");
  await panel.getByLabel("Approved by").fill("cto");
  await panel.getByLabel("Expires").fill(`${freezeDay}T09:30`);
  await panel.getByRole("button", { name: "Record exception" }).click();
  await panel.getByText("Exception to Launch freeze approved by cto, asked for by me: Launch-day fix (until").waitFor();
  const sent = await page.evaluate(() => globalThis.relcalLastOverride);
  if (!sent || sent.expires !== `${freezeDay}T09:30:00Z`) throw new Error(`expires sent: ${JSON.stringify(sent)}`);
});

await test("an exception one person asks for is declined or approved by another, never by them", async (page) => {
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).click();
  await page.keyboard.press("e");
  const form = page.getByTestId("release-form");
  await form.getByLabel("Start", { exact: true }).fill(`${freezeDay}T09:00`);
  await form.getByLabel("End", { exact: true }).fill(`${freezeDay}T10:00`);
  await form.getByRole("button", { name: "Save" }).click();
  const panel = page.getByTestId("release-panel");
  const as = (name) => page.evaluate((n) => window.__TAURI_INTERNALS__.invoke("set_user_name", { name: n }), name);
  const ask = async () => {
    await panel.getByRole("button", { name: "Request an exception…" }).click();
    await panel.getByLabel("Reason").fill("Launch-day fix");
    await panel.getByLabel("Expires").fill(`${freezeDay}T09:30`);
    // No approver named: it is asked for, and waits.
    await panel.getByRole("button", { name: "Ask for approval" }).click();
    await panel.getByTestId("exception-request").getByText("ana asks for an exception to Launch freeze until").waitFor();
  };
  await ask();
  // Ana cannot approve what she asked for; the panel says why.
  await panel.getByRole("button", { name: "Approve exception" }).click();
  await panel.getByRole("alert").getByText("ana asked for the exception and cannot also approve it").waitFor();
  // Li declines it, saying why.
  await as("li");
  await panel.getByRole("button", { name: "Decline…" }).click();
  await panel.getByLabel("Why not").fill("use the spare certificate");
  await panel.getByRole("button", { name: "Decline", exact: true }).click();
  await panel.getByText("Exception to Launch freeze asked for by ana: declined by li (use the spare certificate)").waitFor();
  if (await panel.getByTestId("exception-request").count()) throw new Error("a declined request still waits");
  // Ana asks again; li approves: the release holds the exception, asked for by ana.
  await as("ana");
  await ask();
  await as("li");
  await panel.getByRole("button", { name: "Approve exception" }).click();
  await panel.getByText("Exception to Launch freeze approved by li, asked for by ana: Launch-day fix (until").waitFor();
  await panel.getByText("asked for by ana: approved by li").waitFor();
  if (await panel.getByTestId("exception-request").count()) throw new Error("an approved request still waits");
});

await test("the go/no-go view lists each coming release with its verdict and reasons, and follows approvals", async (page) => {
  await page.keyboard.press("g");
  const view = page.getByTestId("go-no-go");
  const checkout = view.locator("tr", { hasText: "Checkout launch" });
  await checkout.getByText("No-go").waitFor();
  await checkout.getByText("0 of 2 approvals").waitFor();
  await view.locator("tr", { hasText: "Auth rotation" }).getByText("Go", { exact: true }).waitFor();
  // Two approvals from the release panel make it a go.
  await checkout.getByRole("button", { name: "Checkout launch" }).click();
  const panel = page.getByTestId("release-panel");
  await panel.getByRole("button", { name: "Approve" }).click();
  await panel.getByText("1 of 2").waitFor();
  await page.keyboard.press("s");
  await page.getByTestId("settings").getByLabel("Your name").fill("li");
  await page.getByRole("button", { name: "Save name" }).click();
  await page.keyboard.press("Escape");
  await panel.getByRole("button", { name: "Approve" }).click();
  await checkout.getByText("Go", { exact: true }).waitFor();
  await page.screenshot({ path: join(artifacts, "go-no-go.png") });
});

await test("risk: the score and its reasons in the panel and the go/no-go view, with the team's weights from settings", async (page) => {
  await page.keyboard.press("g");
  const view = page.getByTestId("go-no-go");
  const checkout = view.locator("tr", { hasText: "Checkout launch" });
  // Production (20) and no rollback plan (15): 35, medium.
  await checkout.getByText("35", { exact: true }).waitFor();
  await checkout.getByText("medium").waitFor();
  await checkout.getByRole("button", { name: "Checkout launch" }).click();
  const risk = page.getByTestId("release-panel").getByTestId("risk-section");
  await risk.getByText("+20 production environment (Production)").waitFor();
  await risk.getByText("+15 no rollback plan").waitFor();
  // The team weighs production more: the score follows.
  await page.keyboard.press("s");
  const settings = page.getByTestId("settings");
  await settings.getByRole("tab", { name: "Risk" }).click();
  await settings.getByLabel("Production environment").fill("150");
  await settings.getByRole("button", { name: "Save weights" }).click();
  await settings.getByRole("alert").filter({ hasText: "field `production`: at most 100 points" }).waitFor();
  await settings.getByLabel("Production environment").fill("50");
  await settings.getByRole("button", { name: "Save weights" }).click();
  await settings.getByRole("status").getByText("Saved.").waitFor();
  await page.keyboard.press("Escape");
  // The go/no-go view behind the dialog loads again with the new weights.
  await view.locator("tr", { hasText: "Checkout launch" }).getByText("65", { exact: true }).waitFor();
  await view.locator("tr", { hasText: "Checkout launch" }).getByText("high").waitFor();
  await page.screenshot({ path: join(artifacts, "risk.png") });
});

await test("the CAB agenda lists what awaits a decision by environment and risk, prints alone, and copies as Markdown", async (page) => {
  await page.keyboard.press("b");
  const cab = page.getByTestId("cab-agenda");
  const checkout = cab.getByTestId("cab-item").filter({ hasText: "Checkout launch" });
  await checkout.getByText("Decision: approve (0 of 2)").waitFor();
  await checkout.getByText("risk 35").waitFor();
  await cab.getByRole("heading", { name: /Production · production/ }).waitFor();
  // Production comes first, and within it the highest risk first.
  const headings = await cab.getByRole("heading", { level: 3 }).allInnerTexts();
  if (!headings[0].startsWith("Production")) throw new Error(`groups: ${headings}`);
  await cab.getByRole("button", { name: "Copy as Markdown" }).click();
  await cab.getByRole("status").getByText("Copied.").waitFor();
  await cab.getByText("Markdown", { exact: true }).click();
  const markdown = await cab.getByLabel("Agenda as Markdown").inputValue();
  if (!markdown.startsWith("# CAB agenda") || !markdown.includes("### 1. Checkout launch (risk 35, medium)")) throw new Error(markdown);
  // Printing shows the agenda alone: the top bar is hidden in print.
  await page.emulateMedia({ media: "print" });
  const topbarVisible = await page.evaluate(() => {
    const bar = document.querySelector(".layout");
    return bar ? getComputedStyle(bar).visibility !== "hidden" : false;
  });
  if (topbarVisible) throw new Error("the top bar prints with the agenda");
  if (!(await checkout.isVisible())) throw new Error("the agenda does not print");
  await page.emulateMedia({ media: "screen" });
  await page.screenshot({ path: join(artifacts, "cab-agenda.png") });
  // A range with nothing in it says so.
  await cab.getByLabel("Agenda from").fill("2030-01-01");
  await cab.getByLabel("Agenda to").fill("2030-01-08");
  await cab.getByText("Nothing awaits a decision between 2030-01-01 and 2030-01-08.").waitFor();
});

await test("delivery metrics: the figures for a period and team, a weekly chart with freezes, and the releases behind a figure", async (page) => {
  await page.keyboard.press("k");
  const view = page.getByTestId("metrics");
  // Twelve weeks back: the ten deployments of the stand-in, one in four rolled back.
  const deployments = view.getByRole("button", { name: /Deployments/ }).first();
  await deployments.getByText("10", { exact: true }).waitFor();
  await view
    .getByRole("button", { name: /Change failure rate/ })
    .getByText("20.0%")
    .waitFor();
  // The chart is drawn: its canvas has coloured pixels.
  const painted = await view.getByTestId("metrics-chart").evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  if (painted < 1000) throw new Error(`the chart is not drawn (${painted} pixels)`);
  await page.screenshot({ path: join(artifacts, "metrics-light.png") });
  // One team: half of them.
  await view.getByLabel("Metrics team").selectOption("payments");
  await deployments.getByText("5", { exact: true }).waitFor();
  // A figure opens the releases behind it, and a release opens its panel.
  await deployments.click();
  const behind = view.getByTestId("metrics-releases");
  await behind.getByText("Deployments (5)").waitFor();
  await behind.getByRole("button", { name: "Checkout launch" }).click();
  await page.getByTestId("release-panel").getByText("Checkout launch").first().waitFor();
  await page.keyboard.press("Escape");
  // The dark theme redraws the chart in its colours.
  await page.getByLabel("Theme").selectOption("dark");
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(artifacts, "metrics-dark.png") });
  await page.getByLabel("Theme").selectOption("light");
});

await test("holidays from an .ics file become freezes; the calendar exports as iCalendar", async (page) => {
  await page.getByRole("button", { name: "Calendar ▾" }).click();
  await page.getByRole("menuitem", { name: /Import holidays/ }).click();
  const dialog = page.getByTestId("holidays");
  await dialog.getByLabel("Soft: should not").check();
  await dialog.getByRole("button", { name: "Choose the .ics file…" }).click();
  await page.getByTestId("notice").getByText("Imported 1 holiday as freezes; 0 new conflicts. Skipped: event 2 (Broken) has no DTSTART.").waitFor();
  if ((await page.evaluate(() => globalThis.relcalCalls.import_holidays)) !== 1) throw new Error("import_holidays not called once");
  await page.keyboard.press("s");
  await page.getByTestId("settings").getByText("Christmas", { exact: true }).waitFor();
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Calendar ▾" }).click();
  await page.getByRole("menuitem", { name: /Export iCalendar/ }).click();
  await page.getByTestId("notice").getByText("Exported the calendar as iCalendar to /home/ana/relcal.ics").waitFor();
});

await test("filling a checklist and adding a rollback plan in the release panel; the day shows its readiness", async (page) => {
  const today = NOW.toISOString().slice(0, 10);
  const dayTop = page.locator(`.fc-daygrid-day[data-date="${today}"] .fc-daygrid-day-top`);
  // Checkout launch (0%) and Auth rotation (100%) start today.
  await page.waitForFunction((d) => document.querySelector(`.fc-daygrid-day[data-date="${d}"] .fc-daygrid-day-top`)?.dataset.readiness === "50% ready", today);
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).click();
  const panel = page.getByTestId("release-panel");
  await panel.getByText("0% · 1 required open").waitFor();
  await panel.getByRole("checkbox", { name: "Automated tests green" }).check();
  await panel.getByText("done by ana").waitFor();
  await panel.getByText("66% · required done").waitFor();
  await panel.getByRole("button", { name: "Details of Automated tests green" }).click();
  await panel.getByLabel("Note or evidence").fill("https://ci.example/run/42");
  await panel.getByRole("button", { name: "Save", exact: true }).click();
  await panel.getByRole("link", { name: "https://ci.example/run/42" }).waitFor();
  await panel.getByRole("button", { name: "Add the production checklist template" }).click();
  await panel.getByRole("checkbox", { name: "SLOs and monitoring in place" }).waitFor();

  await panel.getByRole("button", { name: "add", exact: true }).click();
  await panel.getByRole("button", { name: "Save rollback plan" }).click();
  await panel.getByRole("alert").filter({ hasText: "field `rollback.steps`: give at least one step" }).waitFor();
  await panel.getByLabel("Rollback steps").fill("switch traffic back to blue\nscale green to 0");
  await panel.getByLabel("Time budget").fill("15");
  await panel.getByLabel("Tested in staging").check();
  await panel.getByLabel("Tested on").fill("2026-11-20");
  await panel.getByLabel("Migration reversible").selectOption("no");
  await panel.getByLabel("Rollback triggers").fill("error rate above 5%");
  await panel.getByRole("button", { name: "Save rollback plan" }).click();
  await panel.getByText("tested on 2026-11-20 · migration NOT reversible").waitFor();
  await panel.getByText("Roll back when: error rate above 5%").waitFor();
  await dayTop.waitFor();
  await page.screenshot({ path: join(artifacts, "release-panel.png") });
});

await test("checklist templates are edited in settings: items, required, and each environment's template", async (page) => {
  await page.keyboard.press("s");
  const settings = page.getByTestId("settings");
  await settings.getByRole("tab", { name: "Checklists" }).click();
  const prod = settings.getByRole("group", { name: "Template Production readiness" });
  await prod.getByRole("button", { name: "+ Add item" }).click();
  await settings.getByRole("button", { name: "Save checklists" }).click();
  await settings.getByRole("alert").filter({ hasText: "field `items[1].text`: must not be empty" }).waitFor();
  await prod.getByLabel("Item text").nth(1).fill("Feature flags reviewed");
  await settings.getByLabel("Template of Staging").selectOption("production-readiness");
  await settings.getByRole("button", { name: "Save checklists" }).click();
  await settings.getByText("Saved.").waitFor();
  const saved = await page.evaluate(() => globalThis.relcalCalls.save_checklist_templates);
  if (saved !== 2) throw new Error(`save called ${saved} times`);
});

await test("notification settings: kinds, lead times, my teams, quiet hours and do-not-disturb", async (page) => {
  await page.keyboard.press("s");
  const settings = page.getByTestId("settings");
  await settings.getByRole("tab", { name: "Notifications" }).click();
  await settings.getByLabel("Freeze lead times").fill("0, 60");
  await settings.getByRole("button", { name: "Save notifications" }).click();
  await settings.getByRole("alert").filter({ hasText: "field `freeze_leads`: 0 minutes" }).waitFor();
  await settings.getByLabel("Freeze lead times").fill("2880, 60");
  await settings.getByLabel("A freeze ends").uncheck();
  await settings.getByLabel("Payments").check();
  await settings.getByLabel("Quiet from").fill("22:00");
  await settings.getByLabel("Quiet until").fill("07:00");
  await settings.getByLabel("Do not disturb").check();
  await settings.getByRole("button", { name: "Save notifications" }).click();
  await settings.getByText("Saved.").waitFor();
  const saved = await page.evaluate(() => window.__TAURI_INTERNALS__.invoke("notify_settings"));
  const want = { freeze_leads: [2880, 60], my_teams: ["payments"], quiet_start: "22:00", quiet_end: "07:00", do_not_disturb: true };
  for (const [k, v] of Object.entries(want)) if (JSON.stringify(saved[k]) !== JSON.stringify(v)) throw new Error(`${k}: ${JSON.stringify(saved[k])}`);
  if (saved.kinds.includes("freeze_ends")) throw new Error("freeze_ends still on");
});

await test("sync: connect with a token, see the status, resolve a conflict with yours, theirs and the original", async (page) => {
  const status = page.getByTestId("sync-status");
  await status.getByText("Sync off").waitFor();
  await page.keyboard.press("y");
  const dialog = page.getByTestId("sync-dialog");
  await dialog.getByText("None.").waitFor();
  await page.screenshot({ path: join(artifacts, "sync-dialog.png") });
  // A bad address and a missing token are refused, naming the field.
  await dialog.getByLabel("Server address").fill("ftp://relcal.example.com");
  await dialog.getByRole("button", { name: "Connect" }).click();
  await dialog.getByRole("alert").filter({ hasText: "field `server`" }).waitFor();
  await dialog.getByLabel("Server address").fill("https://relcal.example.com/");
  await dialog.getByRole("button", { name: "Connect" }).click();
  await dialog.getByRole("alert").filter({ hasText: "RELCAL_TOKEN" }).waitFor();
  await dialog.getByLabel("Token").fill("rc_secret");
  await dialog.getByRole("button", { name: "Connect" }).click();
  // Connected: the token field is emptied (never shown back), the first sync found one conflict.
  await dialog.getByTestId("sync-conflict").waitFor();
  if ((await dialog.getByLabel("Token").inputValue()) !== "") throw new Error("the token is shown back");
  await dialog.getByTestId("sync-facts").getByText("Up to date").waitFor();
  const conflict = dialog.getByTestId("sync-conflict");
  const row = conflict.getByRole("row", { name: /owner/ });
  for (const v of ["owner", "dana", "li", "omar"]) await row.getByRole("cell", { name: v, exact: true }).waitFor();
  await status.getByText("1 sync conflict").waitFor();
  await page.screenshot({ path: join(artifacts, "sync-dialog-with-a-conflict.png") });
  await conflict.getByRole("button", { name: "Take theirs" }).click();
  await dialog.getByTestId("no-sync-conflicts").waitFor();
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  await status.getByText(/^Synced /).waitFor();
  // Taking theirs changed the release here.
  const owner = await page.evaluate(() => window.__TAURI_INTERNALS__.invoke("release_detail", { id: "checkout" }));
  if (owner.owner !== "li") throw new Error(`owner: ${owner.owner}`);
  // Importing a plan into a synced calendar says what it does on the server.
  await page.keyboard.press("Control+o");
  const confirm = page.getByTestId("import-confirm");
  await confirm.getByTestId("import-synced").filter({ hasText: "relcal.example.com" }).waitFor();
  await confirm.getByTestId("import-server-removals").filter({ hasText: "4 objects the plan leaves out will be removed on the server for everyone" }).waitFor();
  await confirm.getByRole("button", { name: "Cancel" }).click();
});

await test("connections: GitLab and GitHub are followed, with tokens kept and each run's result", async (page) => {
  await page.keyboard.press("s");
  const settings = page.getByTestId("settings");
  await settings.getByRole("tab", { name: "Connections" }).click();
  await settings.getByLabel("GitLab address").waitFor();
  await page.screenshot({ path: join(artifacts, "settings-connections.png") });
  await settings.getByLabel("GitLab address").fill("gitlab.example.com");
  await settings.getByLabel("GitLab project").fill("acme/shop");
  await settings.getByRole("button", { name: "Save connections" }).click();
  await settings.getByRole("alert").filter({ hasText: "field `gitlab_url`" }).waitFor();
  await settings.getByLabel("GitLab address").fill("https://gitlab.example.com/");
  await settings.getByLabel("GitLab token").fill("glpat-secret");
  await settings.getByRole("button", { name: "Save connections" }).click();
  await settings.getByText("Saved.").waitFor();
  // The token is never shown back; the field says one is kept.
  if ((await settings.getByLabel("GitLab token").inputValue()) !== "") throw new Error("the token is shown back");
  if ((await settings.getByLabel("GitLab token").getAttribute("placeholder")) !== "kept (type to replace)") throw new Error("no kept-token hint");
  await settings.getByRole("button", { name: "Check now" }).click();
  const runs = settings.getByTestId("connection-runs");
  await runs.getByText("2 created, 0 updated, 0 removed, 0 unchanged").waitFor();
  await runs.getByText(/skipped: GitLab deployment 870/).waitFor();
  const saved = await page.evaluate(() => window.__TAURI_INTERNALS__.invoke("connections"));
  if (saved.settings.gitlab_url !== "https://gitlab.example.com") throw new Error(`saved ${saved.settings.gitlab_url}`);
});

await browser.close();
server.close();
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
