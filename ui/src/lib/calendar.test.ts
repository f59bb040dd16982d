import { describe, expect, it } from "vitest";
import type { CalendarView, ConflictItem, ConflictsView, ReleaseEvent } from "./bindings";
import {
  zoneChoices,
  badgesOf,
  changeDiff,
  releaseMatches,
  SHOW_ALL,
  daysTouched,
  describeError,
  eventsOf,
  filterConflicts,
  foldBusyDays,
  FOLD_AT,
  readinessByDay,
  legendOf,
  NO_FILTER,
} from "./calendar";

const view: CalendarView = {
  timezone: "UTC",
  teams: [
    { id: "payments", name: "Payments", timezone: "Europe/Berlin" },
    { id: "identity", name: "Identity", timezone: null },
  ],
  releases: [
    {
      id: "auth-5.2",
      title: "auth 5.2",
      team_id: "identity",
      team_name: "Identity",
      environment_id: "prod",
      environment_name: "Production",
      production: true,
      services: ["auth"],
      start: "2026-12-01T14:00:00Z",
      end: "2026-12-01T16:00:00Z",
      status: "approved",
      owner: "dana",
      depends_on: [],
      readiness: 100,
    },
  ],
  freezes: [
    {
      freeze_id: "holidays",
      name: "Holiday freeze",
      severity: "hard",
      start: "2026-12-21T05:00:00Z",
      end: "2027-01-04T05:00:00Z",
      recurring: false,
      recurrence: null,
      timezone: "America/New_York",
      scope: "environments: prod",
      reason: null,
    },
  ],
};

describe("eventsOf", () => {
  it("colours releases by their team's position", () => {
    const legend = legendOf(view);
    const release = eventsOf(view).find((e) => e.id === "release:auth-5.2");
    expect(release?.backgroundColor).toBe(legend.teams[1]?.color);
    expect(release?.backgroundColor).not.toBe(legend.teams[0]?.color);
    expect(release?.classNames).toContain("production");
  });

  it("shades freezes as all-day background spans with their severity", () => {
    const freeze = eventsOf(view).find((e) => e.id?.startsWith("freeze:"));
    expect(freeze?.display).toBe("background");
    expect(freeze?.allDay).toBe(true);
    expect(freeze?.classNames).toEqual(["freeze", "freeze-hard"]);
  });
});

describe("daysTouched", () => {
  // vitest runs with TZ=UTC (see package.json), so local days are UTC days.
  it("covers every day the period touches, with an exclusive end", () => {
    expect(daysTouched("2026-12-21T05:00:00Z", "2027-01-04T05:00:00Z")).toEqual({ start: "2026-12-21", end: "2027-01-05" });
  });
  it("does not spill into the next day when the period ends at midnight", () => {
    expect(daysTouched("2026-11-30T00:00:00Z", "2026-12-02T00:00:00Z")).toEqual({ start: "2026-11-30", end: "2026-12-02" });
  });
  it("covers one day for a short period", () => {
    expect(daysTouched("2026-11-06T11:00:00Z", "2026-11-06T12:00:00Z")).toEqual({ start: "2026-11-06", end: "2026-11-07" });
  });
});

describe("describeError", () => {
  it("shows the message and the code of an IPC error", () => {
    expect(describeError({ code: "unavailable", message: "cannot open the database x.db" })).toBe("cannot open the database x.db (unavailable)");
  });
  it("falls back to the text of anything else", () => {
    expect(describeError("boom")).toBe("boom");
  });
});

function item(code: string, severity: string, releases: string[], teams: string[], environments: string[]): ConflictItem {
  return {
    conflict: { code, severity, releases, freeze: null, start: "2026-12-01T15:00:00Z", end: "2026-12-01T16:00:00Z", message: code },
    teams,
    environments,
  };
}

const checked: ConflictsView = {
  checked_at: "2026-11-30T12:00:00Z",
  items: [
    item("owner.double_booked", "warning", ["auth-5.2", "checkout-2.0"], ["identity", "payments"], ["prod"]),
    item("dependency.order", "error", ["auth-5.2", "checkout-2.0"], ["identity", "payments"], ["prod"]),
    item("freeze.overridden", "info", ["ledger-hotfix"], ["payments"], ["staging"]),
  ],
  // As the backend counts them (relcal_api::check::badges_of).
  badges: [
    { release: "auth-5.2", count: 2, severity: "error" },
    { release: "checkout-2.0", count: 2, severity: "error" },
    { release: "ledger-hotfix", count: 1, severity: "info" },
  ],
  summary: { errors: 1, warnings: 1, infos: 1 },
  opening: null,
};

describe("badgesOf", () => {
  it("maps the backend's badges by release", () => {
    const badges = badgesOf(checked);
    expect(badges.get("auth-5.2")).toEqual({ severity: "error", count: 2 });
    expect(badges.get("ledger-hotfix")).toEqual({ severity: "info", count: 1 });
    expect(badges.has("ingress-xmas")).toBe(false);
  });

  it("marks the events of releases with conflicts", () => {
    const release = eventsOf(view, badgesOf(checked)).find((e) => e.id === "release:auth-5.2");
    expect(release?.classNames).toContain("conflict-error");
    expect(eventsOf(view).find((e) => e.id === "release:auth-5.2")?.classNames).not.toContain("conflict-error");
  });
});

describe("filterConflicts", () => {
  it("filters by severity, team and environment together", () => {
    const codes = (f: Parameters<typeof filterConflicts>[1]) => filterConflicts(checked.items, f).map((i) => i.conflict.code);
    expect(codes(NO_FILTER)).toHaveLength(3);
    expect(codes({ ...NO_FILTER, severity: "error" })).toEqual(["dependency.order"]);
    expect(codes({ ...NO_FILTER, team: "identity" })).toEqual(["owner.double_booked", "dependency.order"]);
    expect(codes({ ...NO_FILTER, environment: "staging" })).toEqual(["freeze.overridden"]);
    expect(codes({ severity: "warning", team: "payments", environment: "staging" })).toEqual([]);
  });
});

describe("week views", () => {
  it("shade freezes with exact times outside the month grid", () => {
    const freeze = eventsOf(view, new Map(), false).find((e) => e.id?.startsWith("freeze:"));
    expect(freeze?.allDay).toBeUndefined();
    expect(freeze?.start).toBe("2026-12-21T05:00:00Z");
  });
  it("let active releases be dragged but not finished ones", () => {
    const done = { ...view, releases: view.releases.map((r) => ({ ...r, status: "done" })) };
    expect(eventsOf(view).find((e) => e.id === "release:auth-5.2")?.editable).toBe(true);
    expect(eventsOf(done).find((e) => e.id === "release:auth-5.2")?.editable).toBe(false);
  });
});

describe("changeDiff", () => {
  it("lists the conflicts a move gained and the ones it resolved", () => {
    const c = (code: string) => checked.items.find((i) => i.conflict.code === code)!.conflict;
    const diff = changeDiff({
      before: [c("dependency.order"), c("owner.double_booked")],
      after: [c("owner.double_booked"), c("freeze.overridden")],
    });
    expect(diff.gained.map((x) => x.code)).toEqual(["freeze.overridden"]);
    expect(diff.lost.map((x) => x.code)).toEqual(["dependency.order"]);
  });
});

describe("releaseMatches", () => {
  const r = view.releases[0]!;
  it("matches every word of the search anywhere in the release", () => {
    expect(releaseMatches(r, { ...SHOW_ALL, text: "AUTH dana" })).toBe(true);
    expect(releaseMatches(r, { ...SHOW_ALL, text: "auth ledger" })).toBe(false);
    expect(releaseMatches(r, { ...SHOW_ALL, text: "production" })).toBe(true);
  });
  it("filters on team, environment, service and status", () => {
    expect(releaseMatches(r, { ...SHOW_ALL, service: "auth" })).toBe(true);
    expect(releaseMatches(r, { ...SHOW_ALL, service: "ledger" })).toBe(false);
    expect(releaseMatches(r, { ...SHOW_ALL, team: "identity" })).toBe(true);
    expect(releaseMatches(r, { ...SHOW_ALL, team: "payments" })).toBe(false);
    expect(releaseMatches(r, { ...SHOW_ALL, environment: "staging" })).toBe(false);
    expect(releaseMatches(r, { ...SHOW_ALL, status: "approved" })).toBe(true);
    expect(eventsOf(view, new Map(), true, { ...SHOW_ALL, team: "payments" }).filter((e) => e.id?.startsWith("release:"))).toHaveLength(0);
  });
});

describe("time zones", () => {
  it("shade the days a freeze touches in the zone shown", () => {
    // 21 Dec 05:00Z to 4 Jan 05:00Z is midnight to midnight in New York, but 14:00 to 14:00 in Tokyo.
    expect(daysTouched("2026-12-21T05:00:00Z", "2027-01-04T05:00:00Z", "America/New_York")).toEqual({ start: "2026-12-21", end: "2027-01-04" });
    expect(daysTouched("2026-12-21T05:00:00Z", "2027-01-04T05:00:00Z", "Asia/Tokyo")).toEqual({ start: "2026-12-21", end: "2027-01-05" });
    expect(daysTouched("2026-12-21T05:00:00Z", "2027-01-04T05:00:00Z", "America/Los_Angeles")).toEqual({ start: "2026-12-20", end: "2027-01-04" });
  });
  it("offer my zone, UTC and each team's zone once", () => {
    const choices = zoneChoices([{ timezone: "Europe/Berlin" }, { timezone: null }, { timezone: "Europe/Berlin" }, { timezone: "UTC" }], "America/New_York");
    expect(choices.map((c) => c.value)).toEqual(["local", "UTC", "Europe/Berlin"]);
  });
});

describe("freezeTooltip", () => {
  it("says how a recurring freeze repeats, in words", async () => {
    const { freezeTooltip } = await import("./calendar");
    const f = { ...view.freezes[0]!, recurring: true, recurrence: "every Friday at 12:00 for 12 hours (Europe/Berlin)" };
    expect(freezeTooltip(f, (iso) => iso)).toContain("Repeats every Friday at 12:00 for 12 hours (Europe/Berlin)");
    expect(freezeTooltip(view.freezes[0]!, (iso) => iso)).not.toContain("Repeats");
  });
});

describe("busy days in the month grid", () => {
  const release = (id: string, start: string): ReleaseEvent => ({
    id,
    title: id,
    team_id: "t",
    team_name: "T",
    environment_id: "e",
    environment_name: "E",
    production: false,
    services: [],
    start,
    end: start.replace("T10", "T11"),
    status: "planned",
    owner: null,
    depends_on: [],
    readiness: 100,
  });

  it("leaves a quiet day to the calendar and folds a busy one after its first three", () => {
    const quiet = Array.from({ length: FOLD_AT }, (_, i) => release(`q${i}`, "2026-12-01T10:00:00Z"));
    const busy = Array.from({ length: FOLD_AT + 5 }, (_, i) => release(`b${String(i).padStart(2, "0")}`, `2026-12-02T10:${String(i).padStart(2, "0")}:00Z`));
    const out = foldBusyDays([...quiet, ...busy], "UTC");
    expect(out.filter((x) => "release" in x && x.release.id.startsWith("q"))).toHaveLength(FOLD_AT);
    const kept = out.filter((x) => "release" in x && x.release.id.startsWith("b")).map((x) => ("release" in x ? x.release.id : ""));
    expect(kept).toEqual(["b00", "b01", "b02"]);
    const folded = out.find((x) => !("release" in x));
    expect(folded && "date" in folded ? [folded.date, folded.releases.length] : null).toEqual(["2026-12-02", FOLD_AT + 2]);
  });

  it("counts days in the display zone", () => {
    // 23:30 UTC on the 1st is the 2nd in Berlin.
    const late = Array.from({ length: FOLD_AT + 1 }, (_, i) => release(`l${i}`, "2026-12-01T23:30:00Z"));
    const berlin = foldBusyDays(late, "Europe/Berlin").find((x) => !("release" in x));
    expect(berlin && "date" in berlin ? berlin.date : null).toBe("2026-12-02");
    const utc = foldBusyDays(late, "UTC").find((x) => !("release" in x));
    expect(utc && "date" in utc ? utc.date : null).toBe("2026-12-01");
  });

  it("gives the folded entry the worst badge among the hidden releases", () => {
    const many = Array.from({ length: FOLD_AT + 2 }, (_, i) => release(`r${String(i).padStart(2, "0")}`, `2026-12-03T10:${String(i).padStart(2, "0")}:00Z`));
    const badges = new Map([
      ["r10", { severity: "warning" as const, count: 1 }],
      ["r11", { severity: "error" as const, count: 2 }],
      ["r12", { severity: "error" as const, count: 1 }],
    ]);
    const view = { timezone: "UTC", teams: [{ id: "t", name: "T", timezone: null }], releases: many, freezes: [] };
    const more = eventsOf(view, badges, true, undefined, "UTC").find((e) => e.extendedProps?.kind === "more");
    expect(more?.title).toBe(`+${FOLD_AT - 1} more releases`);
    expect(more?.classNames).toContain("conflict-error");
    expect(more?.extendedProps?.badge).toEqual({ severity: "error", count: 2 });
  });
});

describe("readiness per day", () => {
  const r = (id: string, start: string, readiness: number, status = "planned"): ReleaseEvent => ({
    id,
    title: id,
    team_id: "t",
    team_name: "T",
    environment_id: "e",
    environment_name: "E",
    production: false,
    services: [],
    start,
    end: start,
    status,
    owner: null,
    depends_on: [],
    readiness,
  });
  it("averages the active releases of each day in the display zone", () => {
    const days = readinessByDay(
      [
        r("a", "2026-12-01T10:00:00Z", 100),
        r("b", "2026-12-01T12:00:00Z", 51),
        r("c", "2026-12-01T13:00:00Z", 0, "cancelled"),
        r("d", "2026-12-01T23:30:00Z", 20),
      ],
      "Europe/Berlin",
    );
    expect(days.get("2026-12-01")).toBe(75);
    expect(days.get("2026-12-02")).toBe(20);
    expect(days.size).toBe(2);
  });
});
