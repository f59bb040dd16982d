// Paint benchmark: time from the IPC answer to the painted view, in Debian's
// Chromium, with the IPC mocked (the harness build). Prints the median of
// several runs for the month view with 2,000 releases and the team timeline
// with 200 teams. `npm run bench:paint` (after `npm run build:harness`).
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../dist-harness");
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
  const file = join(root, path === "/" ? "harness.html" : path);
  let body;
  try {
    body = await readFile(file);
  } catch {
    return res.writeHead(404).end();
  }
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const RUNS = Number(process.env.RUNS ?? 7);

async function sample(query, prepare, view, minEvents) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "UTC" });
    const page = await context.newPage();
    await page.goto(url + query);
    await prepare(page);
    const s = await page.waitForFunction(([v, n]) => (globalThis.relcalPaints ?? []).find((p) => p.view === v && p.events >= n), [view, minEvents], {
      timeout: 60000,
    });
    times.push((await s.jsonValue()).ms);
    await context.close();
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] };
}

const month = await sample("?bulk=2000", async () => {}, "dayGridMonth", 2000);
console.log(`month view, 2,000 releases: median ${month.median.toFixed(0)} ms (min ${month.min.toFixed(0)}, max ${month.max.toFixed(0)})`);
const lanes = await sample(
  "?bulk=2000&teams=200",
  async (page) => {
    await page.getByRole("button", { name: "+ New release" }).waitFor({ timeout: 60000 });
    await page.keyboard.press("l");
  },
  "timeline",
  100,
);
console.log(`team timeline, 200 teams: median ${lanes.median.toFixed(0)} ms (min ${lanes.min.toFixed(0)}, max ${lanes.max.toFixed(0)})`);
const metrics = await sample(
  "?bulk=20000",
  async (page) => {
    await page.getByRole("button", { name: "+ New release" }).waitFor({ timeout: 60000 });
    await page.keyboard.press("k");
    await page.getByLabel("Metrics from").fill("2024-12-01");
  },
  "metrics",
  15000,
);
console.log(
  `metrics view, two years, 20,000 deployments: median ${metrics.median.toFixed(0)} ms (min ${metrics.min.toFixed(0)}, max ${metrics.max.toFixed(0)})`,
);
await browser.close();
server.close();
