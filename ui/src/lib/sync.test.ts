import { describe, expect, it } from "vitest";
import type { SyncView } from "./bindings";
import { fieldText, syncLabel } from "./sync";

const base: SyncView = {
  status: { server: "http://s", last_ok_at: null, last_try_at: null, last_error: null, offline: false, pending: 0, conflicts: 0 },
  enabled: true,
  token_source: "keyring",
  token_problem: null,
  syncing: false,
};
const now = new Date("2026-11-29T15:00:00Z");
const view = (status: Partial<SyncView["status"]>, rest: Partial<SyncView> = {}): SyncView => ({ ...base, ...rest, status: { ...base.status, ...status } });

describe("syncLabel", () => {
  it("says off when no server is set", () => {
    expect(syncLabel(null)).toEqual({ text: "Sync off", tone: "off" });
    expect(syncLabel(view({}, { enabled: false }))).toEqual({ text: "Sync off", tone: "off" });
  });
  it("puts conflicts first, then syncing, offline and failures, with what waits", () => {
    expect(syncLabel(view({ conflicts: 2, pending: 1, offline: true }), now)).toEqual({ text: "2 sync conflicts · 1 pending", tone: "bad" });
    expect(syncLabel(view({ pending: 3 }, { syncing: true }), now)).toEqual({ text: "Syncing… · 3 pending", tone: "busy" });
    expect(syncLabel(view({ offline: true, pending: 4, last_error: "offline: x" }), now)).toEqual({ text: "Offline · 4 pending", tone: "warn" });
    expect(syncLabel(view({ last_error: "the token is not valid" }), now)).toEqual({ text: "Sync failed", tone: "bad" });
    expect(syncLabel(view({}), now)).toEqual({ text: "Not synced yet", tone: "warn" });
  });
  it("says when it last synced", () => {
    const label = syncLabel(view({ last_ok_at: "2026-11-29T14:05:00Z" }), now);
    expect(label.tone).toBe("ok");
    expect(label.text).toMatch(/^Synced \d\d:\d\d( [AP]M)?$/);
    expect(syncLabel(view({ last_ok_at: "2026-11-20T14:05:00Z" }), now).text).toMatch(/^Synced (20 Nov|Nov 20) \d\d:\d\d( [AP]M)?$/);
  });
});

describe("fieldText", () => {
  const fmt = (iso: string) =>
    new Intl.DateTimeFormat("en-GB", {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZoneName: "short",
      timeZone: "Europe/Berlin",
    }).format(new Date(iso));
  it("shows strings bare, instants in the zone, the rest as JSON", () => {
    expect(fieldText('"dana"', fmt)).toBe("dana");
    expect(fieldText('"2026-12-01T19:00:00Z"', fmt)).toBe("1 Dec 2026, 20:00 CET");
    expect(fieldText('["auth"]', fmt)).toBe('["auth"]');
    expect(fieldText("42", fmt)).toBe("42");
    expect(fieldText(null, fmt)).toBe("(not set)");
  });
});
