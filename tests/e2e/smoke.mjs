// End-to-end smoke test of the real app window: relcal-app under Xvfb, driven
// over WebDriver by tauri-driver + WebKitWebDriver. No test framework: plain
// WebDriver HTTP calls, so nothing here can drift from what the protocol does.
//
// Run through `make e2e` (builds the app with the UI embedded, wraps in xvfb-run).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  choose,
  clickOn,
  dir,
  element,
  finish,
  now,
  press,
  relcal,
  relcalServer,
  root,
  run,
  sleep,
  snap,
  spawn,
  spawnSync,
  test,
  type,
  waitForText,
  wd,
  withApp,
  withNotificationDaemon,
} from "./driver.mjs";

const exportOf = (db) => JSON.parse(spawnSync(relcal, ["export", "--db", db], { encoding: "utf8" }).stdout);

await test("a new database shows the demo calendar in the month view", async () => {
  const db = join(dir, "new.db");
  await withApp(db, "month-view", async (session) => {
    // The demo is moved so its first releases fall in the current week, so they are in this month's grid.
    const titles = ["ledger rounding hotfix", "auth 5.2 token rotation", "checkout 2.0"];
    // The status bar's facts arrive separately from the calendar: wait for both.
    const text = await waitForText(session, (t) => titles.every((x) => t.includes(x)) && t.includes(db), "the demo releases");
    for (const legend of ["Payments", "Identity", "Platform", "Hard freeze", "Soft freeze"]) {
      if (!text.includes(legend)) throw new Error(`legend lacks ${legend}`);
    }
    // The weekly soft freeze recurs every Friday, so it is always in view.
    if (!text.includes("No Friday afternoon deploys")) throw new Error("the weekly freeze is not shaded");
    if (!text.includes(db)) throw new Error(`the status bar does not show the database ${db}`);
    const colours = await wd("POST", `/session/${session}/execute/sync`, {
      script:
        "return Array.from(document.querySelectorAll('.fc-event.release')).map(e => getComputedStyle(e).backgroundColor)",
      args: [],
    });
    if (new Set(colours).size < 2) throw new Error(`releases are not coloured by team: ${colours}`);

    // Clicking a release opens its detail panel: dependencies, readiness, rollback, approvals, conflicts.
    await wd("POST", `/session/${session}/execute/sync`, {
      script: "Array.from(document.querySelectorAll('.fc-event.release')).find(e => e.textContent.includes('checkout 2.0')).click()",
      args: [],
    });
    // Section titles are upper-cased by CSS, and innerText shows them so.
    const expected = ["depends on", "rollback plan", "auth 5.2 token rotation", "smoke tests green", "required in production", "0 of 2", "dependency.order"];
    await waitForText(session, (t) => expected.every((x) => t.toLowerCase().includes(x)), `the release panel with ${expected.join(", ")}`);
    await snap(session, "release-panel");

    // Edit it in the form and save: the title changes in the database.
    const click = async (css) => {
      const el = await element(session, css);
      await wd("POST", `/session/${session}/element/${Object.values(el)[0]}/click`, {});
    };
    await click("[data-testid='release-panel'] .buttons button");
    const titleBox = await element(session, "[data-testid='release-form'] input[placeholder='checkout 2.1']");
    const titleId = Object.values(titleBox)[0];
    // The form moves the focus to its first field as it opens: keys typed in
    // that moment can be lost, so the title is typed until the field holds it.
    for (let tries = 0; ; tries++) {
      await wd("POST", `/session/${session}/element/${titleId}/clear`, {});
      await wd("POST", `/session/${session}/element/${titleId}/value`, { text: "checkout 2.0 (blue-green)" });
      const typed = await wd("GET", `/session/${session}/element/${titleId}/property/value`);
      if (typed === "checkout 2.0 (blue-green)") break;
      if (tries === 4) throw new Error(`the title field holds ${JSON.stringify(typed)}`);
      await sleep(200);
    }
    await snap(session, "release-form");
    await click("[data-testid='release-form'] button[type='submit']");
    await waitForText(session, (t) => t.includes("Saved checkout 2.0 (blue-green)"), "the saved toast");
    const saved = JSON.parse(spawnSync(relcal, ["export", "--db", db], { encoding: "utf8" }).stdout);
    const checkout = saved.releases.find((r) => r.id === "checkout-2.0");
    if (checkout.title !== "checkout 2.0 (blue-green)" || checkout.checklist.length !== 1) {
      throw new Error(`the edit was not stored as expected: ${JSON.stringify(checkout)}`);
    }

    // Search narrows the calendar to matching releases.
    const box = await element(session, "input[aria-label='Search releases']");
    await wd("POST", `/session/${session}/element/${Object.values(box)[0]}/value`, { text: "ledger" });
    const count = async () =>
      wd("POST", `/session/${session}/execute/sync`, { script: "return document.querySelectorAll('.fc-event.release').length", args: [] });
    for (let i = 0; i < 40 && (await count()) !== 1; i++) await sleep(100);
    const shownTitles = await wd("POST", `/session/${session}/execute/sync`, {
      script: "return Array.from(document.querySelectorAll('.fc-event.release')).map(e => e.textContent)",
      args: [],
    });
    if (shownTitles.length !== 1 || !shownTitles[0].includes("ledger rounding hotfix")) {
      throw new Error(`search "ledger" shows: ${JSON.stringify(shownTitles)}`);
    }
    await snap(session, "search");

    // The team timeline in the real window: lanes per team, the release as a bar.
    await wd("POST", `/session/${session}/execute/sync`, {
      script: "Array.from(document.querySelectorAll('.layout button')).find(b => b.textContent.includes('Timeline')).click()",
      args: [],
    });
    await waitForText(session, (t) => t.includes("Platform") && t.includes("ledger rounding hotfix") && !!t.match(/Payments[\s\S]*Identity/), "the team timeline");
    await snap(session, "team-timeline");
    await wd("POST", `/session/${session}/execute/sync`, {
      script: "Array.from(document.querySelectorAll('.layout button')).find(b => b.textContent.includes('Calendar')).click()",
      args: [],
    });

    // Switching the zone moves every time: 10:00 UTC is 05:00 in New York (EST).
    await wd("POST", `/session/${session}/execute/sync`, {
      script: `const s = document.querySelector('select[aria-label="Time zone"]');
        s.value = 'America/New_York'; s.dispatchEvent(new Event('change', { bubbles: true }));`,
      args: [],
    });
    await waitForText(session, (t) => /05:00\s*-\s*05:30/.test(t) || /05:00 - 05:30/.test(t), "the hotfix at 05:00 New York time");
  });
  if (!existsSync(db)) throw new Error("the app did not create its database");
});

await test("the conflicts panel lists the engine's conflicts and releases carry badges", async () => {
  const db = join(dir, "conflicts.db");
  await withApp(db, "conflicts-hidden", async (session) => {
    // The demo keeps its shape when moved: the TLS update still falls in the holiday freeze,
    // and checkout 2.0 still starts before auth 5.2 ends.
    const text = await waitForText(
      session,
      (t) => t.includes("ingress TLS update overlaps Holiday freeze") && t.includes("dependency.order"),
      "the conflicts panel",
    );
    if (!/\d+ errors/.test(text)) throw new Error("the panel has no error count");
    const badges = await wd("POST", `/session/${session}/execute/sync`, {
      script: "return document.querySelectorAll('.fc-event.release .conflict-badge.error').length",
      args: [],
    });
    if (badges < 1) throw new Error("no release shows an error badge");
    await snap(session, "conflicts-panel");
    // Filtering by severity narrows the list.
    const counts = await wd("POST", `/session/${session}/execute/sync`, {
      script: `const s = document.querySelector('select[aria-label="Filter by severity"]');
               const all = document.querySelectorAll('.conflicts .list li').length;
               s.value = 'warning'; s.dispatchEvent(new Event('change', { bubbles: true }));
               return new Promise(r => setTimeout(() => r([all, document.querySelectorAll('.conflicts .list li.warning').length,
                 document.querySelectorAll('.conflicts .list li.error').length]), 100));`,
      args: [],
    }).catch(async () => {
      // Some drivers do not await promises from execute/sync: read after a pause.
      await sleep(300);
      return wd("POST", `/session/${session}/execute/sync`, {
        script: "return [-1, document.querySelectorAll('.conflicts .list li.warning').length, document.querySelectorAll('.conflicts .list li.error').length]",
        args: [],
      });
    });
    const [, warnings, errors] = counts;
    if (warnings < 1 || errors !== 0) throw new Error(`severity filter did not apply: ${counts}`);
    // The close button hides the panel.
    const close = await element(session, "[aria-label='Hide conflicts']");
    await wd("POST", `/session/${session}/element/${Object.values(close)[0]}/click`, {});
    await waitForText(session, (t) => !t.includes("ingress TLS update overlaps Holiday freeze"), "the panel to close");
  });
});

await test("dragging a release into a hard freeze is flagged at once and can be undone", async () => {
  // A calendar made for today: one release today, a hard freeze on a neighbouring day in the same week.
  const day = (d) => d.toISOString().slice(0, 10);
  const today = now();
  const weekday = (today.getUTCDay() + 6) % 7; // Monday = 0
  const target = new Date(today.getTime() + (weekday < 6 ? 1 : -1) * 86400000);
  const plan = {
    version: 1, timezone: "UTC",
    teams: [{ id: "web", name: "Web" }], services: [{ id: "site", team: "web" }],
    environments: [{ id: "live", name: "Live" }],
    freezes: [{ id: "launch", name: "Launch freeze", severity: "hard",
      start: `${day(target)}T00:00:00Z`, end: `${day(target)}T23:59:00Z` }],
    releases: [{ id: "drag-me", title: "Drag me", team: "web", services: ["site"], environment: "live",
      start: `${day(today)}T10:00:00Z`, end: `${day(today)}T11:00:00Z`, status: "planned" }],
  };
  const planPath = join(dir, "drag-plan.json");
  writeFileSync(planPath, JSON.stringify(plan));
  const db = join(dir, "drag.db");
  const imported = spawnSync(relcal, ["import", planPath, "--db", db], { encoding: "utf8" });
  if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);

  await withApp(db, "drag-into-freeze", async (session) => {
    await waitForText(session, (t) => t.includes("Drag me"), "the release");
    const points = await wd("POST", `/session/${session}/execute/sync`, {
      script: `const from = document.querySelector('.fc-event.release');
        const cell = document.querySelector('.fc-daygrid-day[data-date="${day(target)}"]');
        if (!from || !cell) return null;
        const a = from.getBoundingClientRect(), b = cell.getBoundingClientRect();
        return [Math.round(a.x + 20), Math.round(a.y + a.height / 2), Math.round(b.x + b.width / 2), Math.round(b.y + b.height / 2)];`,
      args: [],
    });
    if (!points) throw new Error("could not find the release and the target day in the month grid");
    const [x1, y1, x2, y2] = points;
    await wd("POST", `/session/${session}/actions`, {
      actions: [{
        type: "pointer", id: "mouse", parameters: { pointerType: "mouse" },
        actions: [
          { type: "pointerMove", duration: 0, x: x1, y: y1 },
          { type: "pointerDown", button: 0 },
          { type: "pointerMove", duration: 200, x: x1 + 12, y: y1 + 12 },
          { type: "pointerMove", duration: 400, x: x2, y: y2 },
          { type: "pointerUp", button: 0 },
        ],
      }],
    });
    const text = await waitForText(session, (t) => t.includes("Moved Drag me"), "the change toast");
    if (!/new error[\s\S]*Drag me overlaps Launch freeze/i.test(text)) {
      throw new Error(`the toast does not flag the hard freeze:\n${text}`);
    }
    await snap(session, "drag-toast");
    // It is stored: the CLI sees the release on the target day.
    const exported = JSON.parse(spawnSync(relcal, ["export", "--db", db], { encoding: "utf8" }).stdout);
    if (!exported.releases[0].start.startsWith(day(target))) {
      throw new Error(`the move was not stored: ${exported.releases[0].start}`);
    }
    // Undo puts it back and resolves the conflict.
    const undo = await element(session, "[data-testid='change-toast'] .undo");
    await wd("POST", `/session/${session}/element/${Object.values(undo)[0]}/click`, {});
    await waitForText(session, (t) => /resolved[\s\S]*Drag me overlaps Launch freeze/i.test(t), "the undo toast");
    const back = JSON.parse(spawnSync(relcal, ["export", "--db", db], { encoding: "utf8" }).stdout);
    if (!back.releases[0].start.startsWith(day(today))) throw new Error(`undo was not stored: ${back.releases[0].start}`);
  });
});

await test("find a slot in the release form moves a release out of a freeze with the real engine, and it is stored", async () => {
  const day = (d) => d.toISOString().slice(0, 10);
  const today = now();
  const tomorrow = new Date(today.getTime() + 86400000);
  const after = new Date(today.getTime() + 2 * 86400000);
  const plan = {
    version: 1, timezone: "UTC",
    teams: [{ id: "web", name: "Web" }], services: [{ id: "site", team: "web" }],
    environments: [{ id: "live", name: "Live" }],
    freezes: [{ id: "launch", name: "Launch freeze", severity: "hard",
      start: `${day(tomorrow)}T00:00:00Z`, end: `${day(after)}T00:00:00Z` }],
    releases: [{ id: "slot-me", title: "Slot me", team: "web", services: ["site"], environment: "live",
      start: `${day(tomorrow)}T10:00:00Z`, end: `${day(tomorrow)}T11:30:00Z`, status: "planned" }],
  };
  const planPath = join(dir, "slot-plan.json");
  writeFileSync(planPath, JSON.stringify(plan));
  const db = join(dir, "slot.db");
  const imported = spawnSync(relcal, ["import", planPath, "--db", db], { encoding: "utf8" });
  if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);

  await withApp(db, "find-a-slot", async (session) => {
    await waitForText(session, (t) => t.includes("Slot me"), "the release");
    await run(session, "Array.from(document.querySelectorAll('.fc-event.release')).find(e => e.textContent.includes('Slot me')).click()");
    await clickOn(session, "[data-testid='release-panel'] .buttons button");
    await element(session, "[data-testid='slot-finder']");
    await run(session, "Array.from(document.querySelectorAll('[data-testid=slot-finder] button')).find(b => b.textContent.includes('Find a slot')).click()");
    const text = await waitForText(session, (t) => t.includes("Earliest slot:") && t.includes("freeze.hard"), "the slot and why earlier times were refused");
    if (!text.includes("Launch freeze (hard)")) throw new Error(`the refused stretch does not name the freeze:\n${text}`);
    await snap(session, "find-a-slot");
    await clickOn(session, "[data-testid='release-form'] button[type='submit']");
    await waitForText(session, (t) => t.includes("Saved Slot me"), "the saved toast");
    const saved = exportOf(db).releases.find((r) => r.id === "slot-me");
    // The freeze ends at midnight UTC; the slot keeps the 90 minutes.
    if (Date.parse(saved.start) !== Date.parse(`${day(after)}T00:00:00Z`) || Date.parse(saved.end) !== Date.parse(`${day(after)}T01:30:00Z`)) {
      throw new Error(`the slot was not stored: ${saved.start} to ${saved.end}`);
    }
    // The CLI agrees: the stored release has no blocking conflict.
    const check = spawnSync(relcal, ["check", "--db", db], { encoding: "utf8" });
    if (check.status !== 0) throw new Error(`relcal check after the slot: ${check.stdout}${check.stderr}`);
  });
});

await test("risk in the real window: the panel's score and reasons, and weights saved in settings that the CLI reads", async () => {
  const db = join(dir, "risk.db");
  await withApp(db, "risk", async (session) => {
    await waitForText(session, (t) => t.includes("checkout 2.0"), "the demo releases");
    await run(session, "Array.from(document.querySelectorAll('.fc-event.release')).find(e => e.textContent.includes('checkout 2.0')).click()");
    const text = await waitForText(session, (t) => t.includes("production environment (Production)"), "the risk section");
    if (!/Risk[\s\S]*high/i.test(text)) throw new Error(`the panel does not show a high risk:\n${text}`);
    await snap(session, "risk-panel");
    await press(session, "s");
    await element(session, "[data-testid='settings'] [role=tab]");
    await run(session, "Array.from(document.querySelectorAll('[data-testid=settings] [role=tab]')).find(b => b.textContent.trim() === 'Risk').click()");
    await type(session, "input[aria-label='Production environment']", "40");
    await run(session, "Array.from(document.querySelectorAll('button')).find(b => b.textContent.includes('Save weights')).click()");
    await waitForText(session, (t) => t.includes("Saved."), "the saved weights");
  });
  const out = spawnSync(relcal, ["risk", "--db", db, "--release", "checkout-2.0", "--format", "json"], { encoding: "utf8" });
  const report = JSON.parse(out.stdout);
  if (report.weights.production !== 40) throw new Error(`the weights were not stored: ${out.stdout}`);
  const production = report.releases[0].factors.find((f) => f.code === "production");
  if (!production || production.points !== 40) throw new Error(`the CLI does not score with the saved weights: ${out.stdout}`);
});

await test("the CAB agenda in the real window: what awaits a decision, by risk, with the decision asked", async () => {
  const db = join(dir, "cab.db");
  await withApp(db, "cab-agenda", async (session) => {
    await waitForText(session, (t) => t.includes("checkout 2.0"), "the demo releases");
    await press(session, "b");
    // The demo is moved so its first releases fall in the current week: the agenda of the next seven days has them.
    const text = await waitForText(session, (t) => t.includes("CAB agenda") && t.includes("Decision:"), "the agenda");
    if (!/Production[\s\S]*Decision:/.test(text)) throw new Error(`the agenda has no production releases:\n${text}`);
    if (!text.includes("risk ")) throw new Error(`the agenda shows no risk:\n${text}`);
    await snap(session, "cab-agenda");
    const markdown = await run(session, "return document.querySelector('textarea[aria-label=\"Agenda as Markdown\"]').value");
    if (!markdown.startsWith("# CAB agenda")) throw new Error(`the Markdown: ${markdown}`);
  });
});

await test("delivery metrics in the real window: the view asks the engine and draws its chart", async () => {
  const db = join(dir, "metrics.db");
  await withApp(db, "metrics", async (session) => {
    await waitForText(session, (t) => t.includes("checkout 2.0"), "the demo releases");
    await press(session, "k");
    await waitForText(session, (t) => t.includes("Delivery metrics") && t.includes("Change failure rate") && t.includes("Deploy rush"), "the metrics view");
    const drawn = await run(session, "const c = document.querySelector('[data-testid=metrics-chart]'); return !!c && c.width > 0 && c.height > 0");
    if (!drawn) throw new Error("the chart has no canvas");
    await snap(session, "metrics");
  });
});

await test("a recurring freeze is rebuilt in the editor, described by the engine, stored, and undone", async () => {
  const db = join(dir, "freeze.db");
  await withApp(db, "settings", async (session) => {
    await waitForText(session, (t) => t.includes("checkout 2.0"), "the demo");
    await press(session, "s");
    await waitForText(session, (t) => t.includes("Calendar settings") && t.includes("Finance month-end close"), "the settings");
    await clickOn(session, "button[aria-label='Edit No Friday afternoon deploys']");
    await waitForText(session, (t) => t.includes("every Friday at 12:00 for 12 hours (Europe/Berlin)"), "the engine's words for the stored rule");
    await choose(session, "[data-testid='freeze-form'] select[aria-label='Frequency']", "monthly_nth");
    await choose(session, "[data-testid='freeze-form'] select[aria-label='Which week']", "-1");
    await choose(session, "[data-testid='freeze-form'] select[aria-label='Weekday']", "FR");
    await waitForText(
      session,
      (t) => t.includes("on the last Friday of every month at 12:00 for 12 hours (Europe/Berlin)"),
      "the engine's words for the new rule",
    );
    const next = await run(session, "return Array.from(document.querySelectorAll('[data-testid=freeze-next] li span')).map(s => s.textContent)");
    if (next.length < 3 || !next.every((x) => x.startsWith("Fri"))) throw new Error(`next occurrences: ${JSON.stringify(next)}`);
    await snap(session, "freeze-editor");
    await clickOn(session, "[data-testid='freeze-form'] button[type='submit']");
    await waitForText(session, (t) => t.includes("Saved freeze No Friday afternoon deploys"), "the saved toast");
    const saved = exportOf(db).freezes.find((f) => f.id === "no-friday");
    if (saved.rrule !== "FREQ=MONTHLY;BYDAY=-1FR") throw new Error(`stored rule: ${saved.rrule}`);
    await press(session, "Escape");
    await press(session, "z", true);
    await waitForText(session, (t) => t.includes("Undone freeze"), "the undo toast");
    const back = exportOf(db).freezes.find((f) => f.id === "no-friday");
    if (back.rrule !== "FREQ=WEEKLY;BYDAY=FR") throw new Error(`undo did not restore the rule: ${back.rrule}`);

    // Teams and environments.
    await press(session, "s");
    await clickOn(session, "[data-testid='settings'] [role='tab']:nth-child(2)");
    await clickOn(session, "[data-testid='settings'] button.add");
    await type(session, "input[aria-label='Team id']", "search");
    await type(session, "input[aria-label='Team name']", "Search");
    await type(session, "input[aria-label='Team zone']", "Asia/Tokyo");
    await clickOn(session, "[data-testid='settings'] form.edit button.primary");
    await waitForText(session, (t) => t.includes("Created team Search"), "the new team");
    const team = exportOf(db).teams.find((t) => t.id === "search");
    if (team?.timezone !== "Asia/Tokyo") throw new Error(`team not stored: ${JSON.stringify(team)}`);
    await clickOn(session, "[data-testid='settings'] [role='tab']:nth-child(4)");
    await clickOn(session, "button[aria-label='Delete Production']");
    await waitForText(session, (t) => t.includes('environment "prod" cannot be deleted') && t.includes("releases use it"), "the refusal");
    if (!exportOf(db).environments.some((e) => e.id === "prod")) throw new Error("prod was deleted");
  });
});

await test("plans are imported and exported through the file dialog; a bad file names the object and field", async () => {
  const db = join(dir, "files.db");
  const file = join(dir, "chosen-plan.json");
  const good = {
    version: 1, timezone: "UTC", teams: [{ id: "web", name: "Web" }], services: [{ id: "site", team: "web" }],
    environments: [{ id: "live", name: "Live" }],
    freezes: [{ id: "launch", name: "Launch freeze", severity: "hard", start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z" }],
    releases: [{ id: "imported", title: "Imported release", team: "web", services: ["site"], environment: "live",
      start: new Date(now().getTime() + 3600000).toISOString().slice(0, 13) + ":00:00Z",
      end: new Date(now().getTime() + 7200000).toISOString().slice(0, 13) + ":00:00Z", status: "planned" }],
  };
  writeFileSync(file, JSON.stringify({ ...good, freezes: [{ ...good.freezes[0], severity: "total" }] }));
  await withApp(db, "import-export", async (session) => {
    await waitForText(session, (t) => t.includes("checkout 2.0"), "the demo");
    await press(session, "o", true);
    await waitForText(
      session,
      (t) => t.includes("chosen-plan.json") && t.includes('freezes[0] (id "launch")') && t.includes("field `severity`"),
      "the refusal naming the freeze and its field",
    );
    if (!exportOf(db).releases.some((r) => r.id === "checkout-2.0")) throw new Error("a refused import changed the calendar");
    writeFileSync(file, JSON.stringify(good));
    await press(session, "o", true);
    await waitForText(session, (t) => t.includes("Replace the calendar?") && t.includes("1 release, 1 freeze"), "the confirmation");
    await snap(session, "import-confirm");
    await clickOn(session, "[data-testid='import-confirm'] button.primary");
    await waitForText(session, (t) => t.includes("Imported") && t.includes("Imported release"), "the imported calendar");
    const stored = exportOf(db);
    if (stored.releases.length !== 1 || stored.releases[0].id !== "imported") throw new Error(`stored: ${JSON.stringify(stored.releases)}`);
    writeFileSync(file, "overwritten by the export");
    await press(session, "s", true);
    await waitForText(session, (t) => t.includes("Exported 1 release and 1 freeze to"), "the export notice");
    const written = JSON.parse(readFileSync(file, "utf8"));
    if (JSON.stringify(written) !== JSON.stringify(exportOf(db))) throw new Error("the exported file differs from the calendar");
  }, { RELCAL_TEST_FILE_DIALOG: file });
});

await test("readiness in the real window: go/no-go, a checklist, a rollback plan, two approvals, all in the audit trail", async () => {
  const db = join(dir, "readiness.db");
  await withApp(db, "go-no-go", async (session) => {
    await waitForText(session, (t) => t.includes("checkout 2.0"), "the demo");
    await press(session, "g");
    await waitForText(session, (t) => t.includes("Go / no-go") && t.includes("checkout 2.0 goes to Production without a rollback plan"), "the go/no-go view");
    await snap(session, "go-no-go");
    // Open checkout 2.0 from the view.
    await run(session, "Array.from(document.querySelectorAll('[data-testid=go-no-go] .link')).find(b => b.textContent.includes('checkout 2.0')).click()");
    await waitForText(session, (t) => t.includes("Add the production checklist template"), "the release panel");
    await run(session, "Array.from(document.querySelectorAll('[data-testid=release-panel] .link')).find(b => b.textContent.includes('checklist template')).click()");
    await waitForText(session, (t) => t.includes("Security scans passed"), "the template's items");
    // The change toast can cover the panel's lower items: dismiss it, as a person would.
    await run(session, "document.querySelector('[data-testid=change-toast] button.close')?.click()");
    await clickOn(session, "[data-testid='release-panel'] input[aria-label='Security scans passed']");
    await waitForText(session, (t) => /done by \S+/.test(t), "who ticked it");
    // The rollback plan.
    await run(session, "Array.from(document.querySelectorAll('[data-testid=release-panel] .link')).find(b => b.textContent.trim() === 'add').click()");
    await type(session, "textarea[aria-label='Rollback steps']", "switch traffic back to blue");
    await type(session, "input[aria-label='Time budget']", "15");
    await clickOn(session, "form[aria-label='Rollback plan'] button.primary");
    await waitForText(session, (t) => t.includes("Rollback plan saved for checkout 2.0"), "the saved rollback plan");
    // Two approvers: the window's user is renamed between them.
    for (const name of ["li", "omar"]) {
      await press(session, "s");
      await type(session, "[data-testid='settings'] input[aria-label='Your name']", name);
      await clickOn(session, "[data-testid='settings'] form.you button");
      await waitForText(session, (t) => t.includes(`now recorded as ${name}`), "the new name");
      await press(session, "Escape");
      await clickOn(session, "[data-testid='release-panel'] button.approve");
      await waitForText(session, (t) => t.includes(`Approved checkout 2.0`), `the approval by ${name}`);
    }
    await waitForText(session, (t) => /APPROVALS\s*2 of 2/i.test(t), "two approvals");
    await snap(session, "readiness-panel");
    const stored = exportOf(db).releases.find((r) => r.id === "checkout-2.0");
    if (stored.approvals.map((a) => a.by).join(",") !== "li,omar") throw new Error(`approvals stored: ${JSON.stringify(stored.approvals)}`);
    if (stored.rollback?.steps?.[0] !== "switch traffic back to blue") throw new Error(`rollback stored: ${JSON.stringify(stored.rollback)}`);
    if (!stored.checklist.find((c) => c.id === "security-scans")?.done) throw new Error("the ticked item is not stored");
  });
  const log = spawnSync(relcal, ["audit", "log", "--db", db, "--release", "checkout-2.0"], { encoding: "utf8" });
  for (const action of ["release.checklist_template", "release.checklist_done", "release.rollback", "release.approve"]) {
    if (!log.stdout.includes(action)) throw new Error(`the audit log lacks ${action}:\n${log.stdout}`);
  }
  if (!/omar\s+release\.approve/.test(log.stdout)) throw new Error(`the second approval is not omar's:\n${log.stdout}`);
  const verify = spawnSync(relcal, ["audit", "verify", "--db", db], { encoding: "utf8" });
  if (verify.status !== 0) throw new Error(`audit verify: ${verify.stderr}`);
});

await test("a freeze exception in the real window: asked for by one user, approved by another, stored for the CLI", async () => {
  const db = join(dir, "exception.db");
  const rename = async (session, name) => {
    await press(session, "s");
    await type(session, "[data-testid='settings'] input[aria-label='Your name']", name);
    await clickOn(session, "[data-testid='settings'] form.you button");
    await waitForText(session, (t) => t.includes(`now recorded as ${name}`), "the new name");
    await press(session, "Escape");
  };
  await withApp(db, "exception-request", async (session) => {
    await waitForText(session, (t) => t.includes("ingress TLS update overlaps Holiday freeze"), "the conflicts panel");
    await rename(session, "ana");
    await run(session, "Array.from(document.querySelectorAll('.conflicts .list button.link')).find(b => b.textContent.trim() === 'ingress-xmas').click()");
    await waitForText(session, (t) => t.includes("Request an exception"), "the release panel");
    await run(session, "Array.from(document.querySelectorAll('[data-testid=release-panel] button.link')).find(b => b.textContent.includes('Request an exception')).click()");
    await type(session, "[data-testid='release-panel'] input[aria-label='Reason']", "certificate expires");
    await clickOn(session, "form[aria-label='Freeze exception'] button.primary");
    await waitForText(session, (t) => t.includes("ana asks for an exception to Holiday freeze"), "the waiting request");
    // Ana cannot approve it; li can.
    await clickOn(session, "[data-testid='exception-request'] button.approve");
    await waitForText(session, (t) => t.includes("ana asked for the exception and cannot also approve it"), "the refusal");
    await rename(session, "li");
    await clickOn(session, "[data-testid='exception-request'] button.approve");
    await waitForText(session, (t) => t.includes("approved by li, asked for by ana: certificate expires"), "the exception");
    await snap(session, "exception-approved");
  });
  const stored = exportOf(db).releases.find((r) => r.id === "ingress-xmas");
  const o = stored.overrides?.[0];
  if (!o || o.by !== "li" || o.requested_by !== "ana" || o.freeze !== "holidays") throw new Error(`the exception stored: ${JSON.stringify(stored.overrides)}`);
  const listed = spawnSync(relcal, ["exceptions", "list", "--all", "--db", db, "--format", "json"], { encoding: "utf8" });
  const request = JSON.parse(listed.stdout)[0];
  if (request?.state !== "approved" || request.decided_by !== "li") throw new Error(`the request: ${listed.stdout}${listed.stderr}`);
  const check = spawnSync(relcal, ["check", "--db", db, "--format", "json"], { encoding: "utf8" });
  const codes = JSON.parse(check.stdout).conflicts.filter((c) => c.releases.includes("ingress-xmas")).map((c) => c.code);
  if (!codes.includes("freeze.overridden") || codes.includes("freeze.hard")) throw new Error(`relcal check: ${codes}`);
});

await test("the app shows a due notification on the desktop, and clicking it opens the freeze", async () => {
  await withNotificationDaemon(async ({ address, busEnv, monitorLog }) => {
    // A freeze whose one-hour notice falls due 20 seconds after the app starts.
    const start = new Date(now().getTime() + 3600_000 + 20_000);
    start.setUTCMilliseconds(0);
    const iso = (d) => d.toISOString().replace(".000Z", "Z");
    const plan = {
      version: 1, timezone: "UTC", teams: [{ id: "web", name: "Web" }], services: [{ id: "site", team: "web" }],
      environments: [{ id: "live", name: "Live" }],
      freezes: [{ id: "launch", name: "Launch freeze", severity: "hard", start: iso(start), end: iso(new Date(start.getTime() + 7200_000)) }],
      releases: [],
    };
    const planPath = join(dir, "notify-plan.json");
    writeFileSync(planPath, JSON.stringify(plan));
    const db = join(dir, "notify.db");
    const imported = spawnSync(relcal, ["import", planPath, "--db", db], { encoding: "utf8" });
    if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);
    await withApp(db, "notification-click", async (session) => {
      await waitForText(session, (t) => t.includes("Relcal"), "the window");
      const until = Date.now() + 60_000;
      while (Date.now() < until && !readFileSync(monitorLog, "utf8").includes("Launch freeze starts in 1 hour")) await sleep(500);
      const log = readFileSync(monitorLog, "utf8");
      if (!log.includes('string "Launch freeze starts in 1 hour"')) throw new Error(`no notification from the app:\n${log}`);
      if (!log.includes('string "default"')) throw new Error("the notification has no default action");
      // Click it, as a person would: dunst invokes its default action.
      await sleep(500);
      const clicked = spawnSync("dunstctl", ["action", "0"], { env: busEnv, encoding: "utf8" });
      if (clicked.status !== 0) throw new Error(`dunstctl action: ${clicked.stderr}`);
      await waitForText(session, (t) => t.includes("Edit Launch freeze"), "the freeze editor opened by the click");
      await snap(session, "notification-opened-freeze");
    }, { DBUS_SESSION_BUS_ADDRESS: address });
  });
});

await test("the window syncs with a real server: connect, a change goes out in the background, a conflict is resolved", async () => {
  // The team's server, on loopback, with the demo plan and a token for each desktop.
  const serverDb = join(dir, "server.db");
  const imported = spawnSync(relcal, ["import", "--db", serverDb, join(root, "assets/demo-plan.json")], { encoding: "utf8" });
  if (imported.status !== 0) throw new Error(`import: ${imported.stderr}`);
  const token = (user) => {
    const out = spawnSync(relcalServer, ["token", "create", "--db", serverDb, "--user", user, "--role", "editor"], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`token create: ${out.stderr}`);
    return out.stdout.trim();
  };
  const [anaToken, benToken] = [token("ana"), token("ben")];
  const server = spawn(relcalServer, ["--db", serverDb, "--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const url = await new Promise((ok, fail) => {
      server.stdout.once("data", (d) => ok(String(d).trim().replace("listening on ", "")));
      server.once("exit", (code) => fail(new Error(`relcal-server exited with ${code}`)));
    });
    // Ben works from the command line.
    const ben = join(dir, "ben.db");
    const benRun = (...args) => {
      const out = spawnSync(relcal, [...args, "--db", ben], { encoding: "utf8", env: { ...process.env, RELCAL_TOKEN: benToken } });
      if (out.status !== 0) throw new Error(`relcal ${args.join(" ")}: ${out.stderr}`);
      return out.stdout;
    };
    benRun("sync", "--server", url);

    const db = join(dir, "sync.db");
    // No OS keyring runs here: the token comes from RELCAL_TOKEN, as the dialog says.
    await withNotificationDaemon(async ({ address, busEnv, monitorLog }) => {
    await withApp(db, "sync-conflict-resolved", async (session) => {
      await waitForText(session, (t) => t.includes("Sync off"), "the status bar's sync state");
      await press(session, "y");
      await type(session, "[data-testid='sync-dialog'] input[aria-label='Server address']", url);
      await clickOn(session, "[data-testid='sync-dialog'] button[type='submit']");
      await waitForText(session, (t) => t.includes("Up to date"), "the first sync");
      const placeholder = await run(session, "return document.querySelector(\"[data-testid='sync-dialog'] input[aria-label='Token']\").placeholder");
      if (placeholder !== "kept in your RELCAL_TOKEN") throw new Error(`the token field says ${placeholder}`);
      await press(session, "Escape");
      await waitForText(session, (t) => /Synced \d/.test(t), "Synced in the status bar");

      // Only the sync conflict's notice is clicked below: the calendar's own notices (the moved
      // release's new start is close) would race it to the top of the daemon's list.
      const quiet = await run(session, `return window.__TAURI_INTERNALS__.invoke("notify_settings")
        .then((s) => window.__TAURI_INTERNALS__.invoke("save_notify_settings",
          { settings: { ...s, kinds: s.kinds.filter((k) => k.startsWith("freeze_")) } }))
        .then(() => "ok", (e) => JSON.stringify(e))`);
      if (quiet !== "ok") throw new Error(`save_notify_settings: ${quiet}`);
      // Ben moves checkout 2.0 and syncs; Ana moves it elsewhere in the window, without pressing anything else.
      benRun("release", "move", "checkout-2.0", "--start", "2026-12-01T18:00:00Z", "--end", "2026-12-01T20:00:00Z");
      benRun("sync", "--server", url);
      const moved = await run(session, `return window.__TAURI_INTERNALS__.invoke("move_release",
        { id: "checkout-2.0", start: "2026-12-01T19:00:00Z", end: "2026-12-01T21:00:00Z" }).then(() => "ok", (e) => JSON.stringify(e))`);
      if (moved !== "ok") throw new Error(`move_release: ${moved}`);
      // The background sync pushes it within seconds: the same fields changed on both sides.
      spawnSync("dunstctl", ["close-all"], { env: busEnv });
      await waitForText(session, (t) => t.includes("1 sync conflict"), "the conflict from the background sync", 30000);
      // A desktop notification says so; clicking it opens the sync dialog.
      const until = Date.now() + 15_000;
      while (Date.now() < until && !readFileSync(monitorLog, "utf8").includes("A sync conflict needs you")) await sleep(300);
      if (!readFileSync(monitorLog, "utf8").includes('string "A sync conflict needs you"')) throw new Error("no sync-conflict notification");
      await sleep(500);
      const clicked = spawnSync("dunstctl", ["action", "0"], { env: busEnv, encoding: "utf8" });
      if (clicked.status !== 0) throw new Error(`dunstctl action: ${clicked.stderr}`);
      await waitForText(session, (t) => t.includes("Theirs (server)"), "yours and theirs side by side");
      // Shown in the display zone; each cell keeps the exact value as its title.
      const cells = await run(session, "return Array.from(document.querySelectorAll('[data-testid=sync-conflict] tbody tr')).map(r => Array.from(r.cells).map(c => c.title || c.textContent).join(' | '))");
      const start = cells.find((r) => r.startsWith("start"));
      if (start !== 'start | "2026-12-01T19:00:00Z" | "2026-12-01T18:00:00Z" | "2026-12-01T15:00:00Z"') {
        throw new Error(`the start row is ${start} (rows: ${cells.join("; ")})`);
      }
      const shownStart = await run(session, "return document.querySelector('[data-testid=sync-conflict] td.yours').textContent");
      if (shownStart.includes('"') || !shownStart.includes("2026")) throw new Error(`the instant is shown as ${shownStart}`);
      await snap(session, "sync-conflict");
      // Ana keeps hers: it goes out as a new change, and everyone agrees.
      await run(session, "Array.from(document.querySelectorAll('[data-testid=sync-conflict] button')).find(b => b.textContent === 'Keep mine').click()");
      await waitForText(session, (t) => t.includes("None. When you and someone else"), "no conflicts left");
      // The resolution woke the background sync; "Sync now" makes sure it has gone out.
      await clickOn(session, "[data-testid='sync-dialog'] .actions .primary");
      await waitForText(session, (t) => t.includes("Synced: ") && t.includes("0 changes"), "the kept copy sent");
    }, { RELCAL_TOKEN: anaToken, DBUS_SESSION_BUS_ADDRESS: address });
    });
    benRun("sync", "--server", url);
    const [mine, bens] = [exportOf(db), exportOf(ben)];
    const at = (p) => p.releases.find((r) => r.id === "checkout-2.0");
    if (at(mine).start !== "2026-12-01T19:00:00Z" || JSON.stringify(mine) !== JSON.stringify(bens)) {
      throw new Error(`the desktops disagree: ${JSON.stringify(at(mine))} vs ${JSON.stringify(at(bens))}`);
    }
  } finally {
    server.kill();
  }
});

await test("a database that cannot be opened is explained in the window", async () => {
  const db = join(dir, "junk.db");
  writeFileSync(db, "this is not a database ".repeat(200));
  await withApp(db, "open-error", async (session) => {
    await waitForText(
      session,
      (t) => t.includes("Something went wrong") && t.includes("cannot open the database") && t.includes("junk.db"),
      "the open error banner",
    );
  });
});

finish("e2e");
