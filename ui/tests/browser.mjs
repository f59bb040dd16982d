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
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});

let passed = 0, failed = 0;
async function test(name, fn) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "UTC" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(url);
    await page.getByText("Checkout launch").first().waitFor({ timeout: 15000 });
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
const today = new Date();
const weekday = (today.getUTCDay() + 6) % 7;
const freezeDay = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) + (weekday < 6 ? DAY : -DAY))
  .toISOString().slice(0, 10);

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

await test("filtering by team hides the other team's releases", async (page) => {
  await page.getByLabel("Show team").selectOption("identity");
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).waitFor({ state: "detached" });
  if (!(await page.locator(".fc-event.release", { hasText: "Auth rotation" }).isVisible())) throw new Error("Auth rotation hidden");
  await page.getByLabel("Show team").selectOption("all");
  await page.locator(".fc-event.release", { hasText: "Checkout launch" }).waitFor();
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
  await page.locator(".fc-event.release", { hasText: /0[56]:00/ }).first().waitFor();
});

await test("creating a release in a freeze shows the conflict; cancelling it clears it", async (page) => {
  await page.keyboard.press("n");
  const form = page.getByTestId("release-form");
  await form.waitFor();
  await form.getByPlaceholder("checkout 2.1").fill("Hotfix");
  await form.getByLabel("Start", { exact: true }).fill(`${freezeDay}T09:00`);
  await form.getByLabel("End", { exact: true }).fill(`${freezeDay}T10:00`);
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

await test("the release form names the field of a refused edit and keeps what was typed", async (page) => {
  await page.locator(".fc-event.release", { hasText: "Auth rotation" }).click();
  await page.getByTestId("release-panel").getByRole("button", { name: "Edit" }).click();
  const form = page.getByTestId("release-form");
  await form.getByLabel("End", { exact: true }).fill(`${freezeDay.slice(0, 8)}01T00:00`);
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

await browser.close();
server.close();
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
