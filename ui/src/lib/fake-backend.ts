/**
 * A stand-in for the Rust commands, for browser tests of the UI alone. It
 * knows one rule (a hard freeze over a release) so a test can see a drag
 * into a freeze flagged; the real rules are tested in Rust and in the window.
 */
import type {
  AppInfo,
  CalendarView,
  Catalog,
  ConflictReport,
  ConflictsView,
  ReleaseChange,
  ReleaseDetail,
  ReleaseEvent,
  ReleaseInput,
} from "./bindings";

const DAY = 86_400_000;

function isoDay(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

export function fakeBackend(today: Date) {
  const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const weekday = (today.getUTCDay() + 6) % 7;
  const freezeDay = midnight + (weekday < 6 ? DAY : -DAY);
  const at = (t: number) => new Date(t).toISOString().replace(".000", "");
  const teams = [
    { id: "payments", name: "Payments", timezone: "Europe/Berlin" },
    { id: "identity", name: "Identity", timezone: "America/New_York" },
  ];
  const releases: ReleaseEvent[] = [
    { id: "checkout", title: "Checkout launch", team_id: "payments", team_name: "Payments", environment_id: "prod",
      environment_name: "Production", production: true, services: ["checkout-api"], start: at(midnight + 10 * 3600_000),
      end: at(midnight + 11 * 3600_000), status: "planned", owner: "dana" },
    { id: "auth", title: "Auth rotation", team_id: "identity", team_name: "Identity", environment_id: "staging",
      environment_name: "Staging", production: false, services: ["auth"], start: at(midnight + 14 * 3600_000),
      end: at(midnight + 15 * 3600_000), status: "approved", owner: "li" },
  ];
  const freeze = { freeze_id: "launch", name: "Launch freeze", severity: "hard", start: at(freezeDay), end: at(freezeDay + DAY),
    recurring: false, recurrence: null, timezone: "UTC", scope: "everyone", reason: "Marketing launch" };

  const active = (r: ReleaseEvent) => ["draft", "planned", "approved", "in_progress"].includes(r.status);
  const conflictsOf = (r: ReleaseEvent): ConflictReport[] =>
    active(r) && r.start < freeze.end && freeze.start < r.end
      ? [{ code: "freeze.hard", severity: "error", releases: [r.id], freeze: freeze.freeze_id, start: freeze.start, end: freeze.end,
           message: `${r.title} overlaps ${freeze.name} (hard, everyone) on ${isoDay(freezeDay)}` }]
      : [];
  const all = () => releases.flatMap(conflictsOf);
  const summary = () => ({ errors: all().length, warnings: 0, infos: 0 });
  const find = (id: string) => {
    const r = releases.find((x) => x.id === id);
    if (!r) throw { code: "not_found", message: `release "${id}" does not exist` };
    return r;
  };

  return (cmd: string, payload?: unknown): unknown => {
    const args = payload as Record<string, unknown> | undefined;
    // Tests read how often each command was called.
    const calls = ((globalThis as { relcalCalls?: Record<string, number> }).relcalCalls ??= {});
    calls[cmd] = (calls[cmd] ?? 0) + 1;
    switch (cmd) {
      case "app_info":
        return { version: "test", db_path: "(mocked IPC)", open_error: null } satisfies AppInfo;
      case "calendar_view": {
        const { from, to } = args as { from: string; to: string };
        const f = new Date(from).getTime(), t = new Date(to).getTime();
        const overlaps = (s: string, e: string) => new Date(s).getTime() < t && f < new Date(e).getTime();
        return {
          timezone: "UTC", teams,
          releases: releases.filter((r) => overlaps(r.start, r.end)),
          freezes: overlaps(freeze.start, freeze.end) ? [freeze] : [],
        } satisfies CalendarView;
      }
      case "conflicts":
        return {
          checked_at: at(Date.now()),
          items: releases.flatMap((r) => conflictsOf(r).map((conflict) => ({ conflict, teams: [r.team_id], environments: [r.environment_id] }))),
          summary: summary(),
        } satisfies ConflictsView;
      case "move_release": {
        const { id, start, end } = args as { id: string; start: string; end: string };
        const r = find(id);
        if (new Date(end) <= new Date(start)) throw { code: "validation", message: `releases (id "${id}"): field \`end\`: must be after start` };
        const before = conflictsOf(r);
        r.start = at(new Date(start).getTime());
        r.end = at(new Date(end).getTime());
        return { release: r.id, title: r.title, start: r.start, end: r.end, status: r.status, before, after: conflictsOf(r), summary: summary() } satisfies ReleaseChange;
      }
      case "catalog":
        return {
          teams: teams.map((t) => ({ id: t.id, name: t.name, group: null })),
          services: [
            { id: "checkout-api", name: "checkout-api", group: "payments" },
            { id: "auth", name: "auth", group: "identity" },
          ],
          environments: [
            { id: "prod", name: "Production", group: null },
            { id: "staging", name: "Staging", group: null },
          ],
          releases: releases.map((r) => ({ id: r.id, name: r.title, group: null })),
        } satisfies Catalog;
      case "release_input": {
        const r = find((args as { id: string }).id);
        return { id: r.id, title: r.title, team: r.team_id, services: r.services, environment: r.environment_id, start: r.start,
          end: r.end, status: r.status, owner: r.owner, depends_on: [], version: null } satisfies ReleaseInput;
      }
      case "save_release": {
        const input = (args as { input: ReleaseInput }).input;
        if (!input.title.trim()) throw { code: "validation", message: `new release (id "${input.id}"): field \`title\`: must not be empty` };
        if (new Date(input.end) <= new Date(input.start)) throw { code: "validation", message: `release (id "${input.id}"): field \`end\`: must be after start` };
        let r = releases.find((x) => x.id === input.id);
        const before = r ? conflictsOf(r) : [];
        const team = teams.find((t) => t.id === input.team);
        const fields = { title: input.title, team_id: input.team, team_name: team?.name ?? input.team, services: input.services,
          environment_id: input.environment, environment_name: input.environment === "prod" ? "Production" : "Staging",
          production: input.environment === "prod", start: at(new Date(input.start).getTime()), end: at(new Date(input.end).getTime()),
          status: input.status, owner: input.owner };
        if (r) Object.assign(r, fields);
        else releases.push((r = { id: input.id, ...fields }));
        return { release: r.id, title: r.title, start: r.start, end: r.end, status: r.status, before, after: conflictsOf(r), summary: summary() } satisfies ReleaseChange;
      }
      case "set_release_status": {
        const { id, status } = args as { id: string; status: string };
        const r = find(id);
        const before = conflictsOf(r);
        r.status = status;
        return { release: r.id, title: r.title, start: r.start, end: r.end, status, before, after: conflictsOf(r), summary: summary() } satisfies ReleaseChange;
      }
      case "release_detail": {
        const r = find((args as { id: string }).id);
        return {
          id: r.id, title: r.title, team_id: r.team_id, team_name: r.team_name, services: r.services, environment_id: r.environment_id,
          environment_name: r.environment_name, production: r.production, start: r.start, end: r.end, status: r.status, owner: r.owner,
          version: null, artifact: null, depends_on: [], dependents: [], approvals: [], required_approvals: 0, checklist: [],
          rollback: null, overrides: [], conflicts: conflictsOf(r),
        } satisfies ReleaseDetail;
      }
      default:
        throw { code: "internal", message: `the fake backend has no command ${cmd}` };
    }
  };
}
