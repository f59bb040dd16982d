import { describe, expect, it } from "vitest";
import type { CalendarView } from "./bindings";
import { daysTouched, describeError, eventsOf, legendOf } from "./calendar";

const view: CalendarView = {
  timezone: "UTC",
  teams: [
    { id: "payments", name: "Payments", timezone: "Europe/Berlin" },
    { id: "identity", name: "Identity", timezone: null },
  ],
  releases: [
    {
      id: "auth-5.2", title: "auth 5.2", team_id: "identity", team_name: "Identity",
      environment_id: "prod", environment_name: "Production", production: true, services: ["auth"],
      start: "2026-12-01T14:00:00Z", end: "2026-12-01T16:00:00Z", status: "approved", owner: "dana",
    },
  ],
  freezes: [
    {
      freeze_id: "holidays", name: "Holiday freeze", severity: "hard", start: "2026-12-21T05:00:00Z",
      end: "2027-01-04T05:00:00Z", recurring: false, timezone: "America/New_York",
      scope: "environments: prod", reason: null,
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
    expect(describeError({ code: "unavailable", message: "cannot open the database x.db" })).toBe(
      "cannot open the database x.db (unavailable)",
    );
  });
  it("falls back to the text of anything else", () => {
    expect(describeError("boom")).toBe("boom");
  });
});
