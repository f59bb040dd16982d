/**
 * A stand-in for the Rust commands, for browser tests of the UI alone. It
 * knows one rule (a hard freeze over a release) so a test can see a drag
 * into a freeze flagged; the real rules are tested in Rust and in the window.
 */
import type {
  AppInfo,
  ExceptionRequest,
  FreezeInput,
  FreezePreview,
  Change,
  ChangeAction,
  ObjectKind,
  Settings,
  CalendarView,
  Catalog,
  ConflictReport,
  ConflictsView,
  ReleaseDetail,
  ReleaseEvent,
  ReleaseInput,
  AgendaView,
  MetricRelease,
  MetricWeek,
  MetricsView,
  RiskView,
  RiskWeights,
  SlotReport,
  SlotRequest,
  SyncConflictView,
  SyncView,
  ConnectionsView,
  AdapterSettings,
  Undo,
} from "./bindings";
import { NOTICE_KINDS } from "./bindings";
import { isActive } from "./calendar";
import { DEFAULT_RISK_WEIGHTS } from "./risk";

const DAY = 86_400_000;

function isoDay(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** `bulk`: that many extra releases spread over the current month, for paint-time measurements. */
export function fakeBackend(today: Date, options: { bulk?: number; teams?: number; opening?: boolean } = {}) {
  // `opening`: the calendar is still being checked (as a large one is at start) until a
  // test invokes `test_finish_opening`.
  let opening = options.opening ?? false;
  // The fake backend's clock starts at `today` and runs on, as RELCAL_NOW makes the real one do.
  const started = Date.now();
  const clock = () => today.getTime() + (Date.now() - started);
  const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const weekday = (today.getUTCDay() + 6) % 7;
  const freezeDay = midnight + (weekday < 6 ? DAY : -DAY);
  const at = (t: number) => new Date(t).toISOString().replace(".000", "");
  const teams = [
    { id: "payments", name: "Payments", timezone: "Europe/Berlin" },
    { id: "identity", name: "Identity", timezone: "America/New_York" },
  ];
  const releases: ReleaseEvent[] = [
    {
      id: "checkout",
      title: "Checkout launch",
      team_id: "payments",
      team_name: "Payments",
      environment_id: "prod",
      environment_name: "Production",
      production: true,
      services: ["checkout-api"],
      start: at(midnight + 10 * 3600_000),
      end: at(midnight + 11 * 3600_000),
      status: "planned",
      owner: "dana",
      depends_on: ["auth"],
      readiness: 0,
    },
    {
      id: "auth",
      title: "Auth rotation",
      team_id: "identity",
      team_name: "Identity",
      environment_id: "staging",
      environment_name: "Staging",
      production: false,
      services: ["auth"],
      start: at(midnight + 14 * 3600_000),
      end: at(midnight + 15 * 3600_000),
      status: "approved",
      owner: "li",
      depends_on: [],
      readiness: 100,
    },
  ];
  for (let i = teams.length; i < (options.teams ?? 0); i++) teams.push({ id: `team-${i}`, name: `Team ${i}`, timezone: "UTC" });
  const monthStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
  for (let i = 0; i < (options.bulk ?? 0); i++) {
    const team = teams[i % teams.length] ?? teams[0]!;
    const start = monthStart + (i % 28) * DAY + ((i * 7) % 20) * 3600_000;
    releases.push({
      id: `bulk-${i}`,
      title: `bulk release ${i}`,
      team_id: team.id,
      team_name: team.name,
      environment_id: "staging",
      environment_name: "Staging",
      production: false,
      services: ["auth"],
      start: at(start),
      end: at(start + 3600_000),
      status: "planned",
      owner: null,
      depends_on: [],
      readiness: i % 3 === 0 ? 100 : 50,
    });
  }
  const freeze = {
    freeze_id: "launch",
    name: "Launch freeze",
    severity: "hard",
    start: at(freezeDay),
    end: at(freezeDay + DAY),
    recurring: false,
    recurrence: null,
    timezone: "UTC",
    scope: "everyone",
    reason: "Marketing launch",
  };

  const freezes: FreezeInput[] = [
    {
      id: "launch",
      name: "Launch freeze",
      severity: "hard",
      timezone: "UTC",
      start: freeze.start,
      end: freeze.end,
      duration: null,
      rrule: null,
      exdates: [],
      teams: [],
      services: [],
      environments: [],
      reason: "Marketing launch",
    },
    {
      id: "no-friday",
      name: "No Friday deploys",
      severity: "soft",
      timezone: "Europe/Berlin",
      start: "2026-11-06T12:00:00",
      end: null,
      duration: "PT12H",
      rrule: "FREQ=WEEKLY;BYDAY=FR",
      exdates: [],
      teams: [],
      services: [],
      environments: ["prod"],
      reason: null,
    },
  ];
  let teamList = teams.map((t) => ({ ...t }));
  let userName = "ana";
  let backgroundState = { keep_running: true, start_at_login: false, start_at_login_available: true };
  let notifyState = {
    kinds: [...NOTICE_KINDS],
    freeze_leads: [1440, 60],
    release_leads: [60, 15],
    my_teams: [] as string[],
    me: null as string | null,
    timezone: null as string | null,
    quiet_start: null as string | null,
    quiet_end: null as string | null,
    do_not_disturb: false,
  };
  let templatesState = {
    templates: [
      { id: "pre-production", name: "Pre-production", items: [{ id: "tests-green", text: "Automated tests green", required: true }] },
      { id: "production-readiness", name: "Production readiness", items: [{ id: "security-scans", text: "Security scans passed", required: true }] },
    ],
    production: "production-readiness",
    other: "pre-production",
    environments: {} as Partial<Record<string, string>>,
  };
  type Item = {
    id: string;
    text: string;
    required: boolean;
    done: boolean;
    owner: string | null;
    done_by: string | null;
    done_at: string | null;
    note: string | null;
  };
  const checklists = new Map<string, Item[]>([
    [
      "checkout",
      [
        { id: "tests-green", text: "Automated tests green", required: true, done: false, owner: null, done_by: null, done_at: null, note: null },
        { id: "canary", text: "Canary configured", required: false, done: false, owner: null, done_by: null, done_at: null, note: null },
      ],
    ],
  ]);
  const rollbacks = new Map<
    string,
    {
      steps: string[];
      owner: string | null;
      time_budget_minutes: number | null;
      tested: boolean;
      tested_on: string | null;
      migration_reversible: boolean | null;
      triggers: string[];
    }
  >();
  const score = (id: string) => {
    const items = checklists.get(id) ?? [];
    const w = (i: Item) => (i.required ? 2 : 1);
    const total = items.reduce((n, i) => n + w(i), 0);
    return total ? Math.floor((items.filter((i) => i.done).reduce((n, i) => n + w(i), 0) * 100) / total) : 100;
  };
  const approvals = new Map<string, { by: string; at: string }[]>();
  const overrides = new Map<
    string,
    { freeze: string; freeze_name: string; reason: string; by: string; requested_by: string | null; expires: string | null }[]
  >();
  /** Exceptions asked for, newest first (the real backend keeps them beside the calendar). */
  const requests: ExceptionRequest[] = [];
  const pendingRequest = (id: string) => {
    const q = requests.find((x) => x.id === id);
    if (!q) throw { code: "not_found", message: `exception request "${id}" does not exist` };
    if (q.state !== "pending")
      throw { code: "validation", message: `exception request "${id}": field \`state\`: it is already ${q.state} (by ${q.decided_by})` };
    return q;
  };
  /** A release's change as the real backend reports it; `summaryBefore` is the calendar's counts before. */
  const change = (r: ReleaseEvent, before: ConflictReport[], summaryBefore = summary()) => {
    const after = conflictsOf(r);
    const key = (c: ConflictReport) => `${c.code}|${c.releases.join(",")}|${c.freeze ?? ""}|${c.start}`;
    const had = new Set(before.map(key));
    const has = new Set(after.map(key));
    const gained = after.filter((c) => !had.has(key(c)));
    const resolved = before.filter((c) => !has.has(key(c)));
    return {
      kind: "release",
      id: r.id,
      action: "updated",
      release: { title: r.title, start: r.start, end: r.end, status: r.status, conflicts: after },
      before: summaryBefore,
      after: summary(),
      gained,
      gained_total: gained.length,
      resolved,
      resolved_total: resolved.length,
    } satisfies Omit<Change, "undo">; // its undo is added by the dispatcher
  };
  const noChange = { errors: 0, warnings: 0, infos: 0 };
  const listOf = (kind: ObjectKind) => (kind === "freeze" ? freezes : kind === "team" ? teamList : kind === "release" ? releases : []) as { id: string }[];
  const objectChange = (kind: ObjectKind, id: string, action: ChangeAction, previous: unknown): Change => ({
    kind,
    id,
    action,
    release: null,
    undo: {
      kind,
      id,
      before: previous === undefined ? null : JSON.stringify(previous),
      after: action === "deleted" ? null : JSON.stringify(listOf(kind).find((x) => x.id === id) ?? null),
      position: previous === undefined ? null : Math.max(0, listOf(kind).length - 1),
    },
    before: noChange,
    after: noChange,
    gained: [],
    gained_total: 0,
    resolved: [],
    resolved_total: 0,
  });
  /** The words the fake gives a rule: the real ones come from the Rust engine. */
  const words = (f: FreezeInput) => (f.rrule ? `rule ${f.rrule} for ${f.duration} (${f.timezone ?? "UTC"})` : `once (${f.timezone ?? "UTC"})`);

  const active = (r: ReleaseEvent) => isActive(r.status);
  const conflictsOf = (r: ReleaseEvent): ConflictReport[] =>
    active(r) && r.start < freeze.end && freeze.start < r.end
      ? [
          {
            code: "freeze.hard",
            severity: "error",
            releases: [r.id],
            freeze: freeze.freeze_id,
            start: freeze.start,
            end: freeze.end,
            message: `${r.title} overlaps ${freeze.name} (hard, everyone) on ${isoDay(freezeDay)}`,
          },
        ]
      : [];
  const all = () => releases.flatMap(conflictsOf);
  const summary = () => ({ errors: all().length, warnings: 0, infos: 0 });
  const find = (id: string) => {
    const r = releases.find((x) => x.id === id);
    if (!r) throw { code: "not_found", message: `release "${id}" does not exist` };
    return r;
  };

  /** Sync: off until connected; the first sync finds one conflict on the checkout's owner. */
  let sync: SyncView = {
    status: { server: null, last_ok_at: null, last_try_at: null, last_error: null, offline: false, pending: 0, conflicts: 0 },
    enabled: false,
    token_source: null,
    token_problem: null,
    syncing: false,
  };
  let syncConflicts: SyncConflictView[] = [];
  const syncOnce = () => {
    const now = new Date(clock()).toISOString().replace(/\.\d+Z$/, "Z");
    if (!sync.status.last_ok_at) {
      syncConflicts = [
        {
          mutation_id: "c1:release:checkout:7:v2",
          kind: "release",
          id: "checkout",
          title: "Checkout launch",
          refused: false,
          reason: null,
          deleted: false,
          fields: [{ name: "owner", yours: '"dana"', theirs: '"li"', original: '"omar"' }],
        },
      ];
    }
    sync = {
      ...sync,
      status: { ...sync.status, last_ok_at: now, last_try_at: now, last_error: null, offline: false, pending: 0, conflicts: syncConflicts.length },
    };
    return { pushed: 1, merged: 0, pulled: 0, conflicts: syncConflicts.length, diverged: 0 };
  };

  /** Connections: none until saved; a check creates GitLab's freezes. */
  let connections: ConnectionsView = {
    settings: { gitlab_url: null, gitlab_project: null, gitlab_environments: [], github_repo: null, github_api: null },
    gitlab_token: false,
    github_token: false,
    runs: [],
    running: false,
  };

  /** Everything the fake keeps about a release, as a release change's undo copy. */
  const releaseState = (id: string): string | null => {
    const r = releases.find((x) => x.id === id);
    if (!r) return null;
    return JSON.stringify({
      release: { ...r },
      approvals: approvals.get(id) ?? [],
      checklist: checklists.get(id) ?? [],
      rollback: rollbacks.get(id) ?? null,
      overrides: overrides.get(id) ?? [],
    });
  };
  const putBack = (r: ReleaseEvent, copy: string) => {
    const s = JSON.parse(copy);
    Object.assign(r, s.release);
    approvals.set(r.id, s.approvals);
    checklists.set(r.id, s.checklist);
    if (s.rollback) rollbacks.set(r.id, s.rollback);
    else rollbacks.delete(r.id);
    overrides.set(r.id, s.overrides);
  };

  // Each release change carries its undo, as the real backend's does.
  let riskWeights: RiskWeights = { ...DEFAULT_RISK_WEIGHTS };

  return (cmd: string, payload?: unknown): unknown => {
    const args = payload as Record<string, unknown> | undefined;
    const input = args?.input as { id?: unknown } | undefined;
    const id = typeof args?.id === "string" ? args.id : typeof input?.id === "string" ? input.id : null;
    const before = id === null ? null : releaseState(id);
    const result = handle(cmd, args);
    if (result !== null && typeof result === "object" && "release" in result && !("undo" in result)) {
      const c = result as Change;
      if (c.release) c.undo = { kind: "release", id: c.id, before, after: releaseState(c.id), position: null };
    }
    return result;
  };

  /** Risk like the model's, for its two factors this stand-in knows: production, and no rollback plan there. */
  function riskOf(r: { production: boolean; environment_name: string }): RiskView {
    const factors = r.production
      ? [
          { code: "production", points: riskWeights.production, reason: `production environment (${r.environment_name})` },
          { code: "rollback", points: riskWeights.rollback, reason: "no rollback plan" },
        ].filter((f) => f.points > 0)
      : [];
    factors.sort((a, b) => b.points - a.points);
    const score = Math.min(
      100,
      factors.reduce((n, f) => n + f.points, 0),
    );
    return { score, level: score < 30 ? "low" : score < 60 ? "medium" : "high", factors };
  }

  function handle(cmd: string, args: Record<string, unknown> | undefined): unknown {
    // Tests read how often each command was called.
    const calls = ((globalThis as { relcalCalls?: Record<string, number> }).relcalCalls ??= {});
    calls[cmd] = (calls[cmd] ?? 0) + 1;
    switch (cmd) {
      case "app_info":
        return { version: "test", db_path: "(mocked IPC)", open_error: null, now: new Date(clock()).toISOString() } satisfies AppInfo;
      case "calendar_view": {
        const { from, to } = args as { from: string; to: string };
        const f = new Date(from).getTime(),
          t = new Date(to).getTime();
        const overlaps = (s: string, e: string) => new Date(s).getTime() < t && f < new Date(e).getTime();
        return {
          timezone: "UTC",
          teams,
          releases: releases.filter((r) => overlaps(r.start, r.end)),
          freezes: overlaps(freeze.start, freeze.end) ? [freeze] : [],
        } satisfies CalendarView;
      }
      case "conflicts": {
        // Like the backend: the conflicts of the releases a view shows, the list only when asked for.
        const { from, to, items } = args as { from: string | null; to: string | null; items: boolean | null };
        if (opening) {
          return {
            checked_at: at(clock()),
            items: [],
            badges: [],
            summary: { errors: 0, warnings: 0, infos: 0 },
            opening: { step: 2, steps: 2, what: "Checking 100,000 releases for conflicts", releases: 100000 },
          } satisfies ConflictsView;
        }
        const inView = (r: ReleaseEvent) => !from || !to || (new Date(r.start) < new Date(to) && new Date(from) < new Date(r.end));
        const shown = releases
          .filter(inView)
          .flatMap((r) => conflictsOf(r).map((conflict) => ({ conflict, teams: [r.team_id], environments: [r.environment_id] })));
        const badges = new Map<string, { release: string; count: number; severity: string }>();
        const rank: Record<string, number> = { error: 0, warning: 1, info: 2 };
        const inViewIds = new Set(releases.filter(inView).map((r) => r.id));
        for (const { conflict } of shown) {
          for (const id of conflict.releases.filter((id) => !from || inViewIds.has(id))) {
            const b = badges.get(id) ?? { release: id, count: 0, severity: conflict.severity };
            badges.set(id, {
              release: id,
              count: b.count + 1,
              severity: (rank[conflict.severity] ?? 3) < (rank[b.severity] ?? 3) ? conflict.severity : b.severity,
            });
          }
        }
        return {
          checked_at: at(clock()),
          items: items === false ? [] : shown,
          badges: [...badges.values()].sort((a, b) => a.release.localeCompare(b.release)),
          summary: summary(),
          opening: null,
        } satisfies ConflictsView;
      }
      case "move_release": {
        const { id, start, end } = args as { id: string; start: string; end: string };
        const r = find(id);
        if (new Date(end) <= new Date(start)) throw { code: "validation", message: `releases (id "${id}"): field \`end\`: must be after start` };
        const before = conflictsOf(r);
        const counts = summary();
        r.start = at(new Date(start).getTime());
        r.end = at(new Date(end).getTime());
        return change(r, before, counts);
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
        return {
          id: r.id,
          title: r.title,
          team: r.team_id,
          services: r.services,
          environment: r.environment_id,
          start: r.start,
          end: r.end,
          status: r.status,
          owner: r.owner,
          depends_on: [],
          version: null,
        } satisfies ReleaseInput;
      }
      case "save_release": {
        const input = (args as { input: ReleaseInput }).input;
        if (!input.title.trim()) throw { code: "validation", message: `new release (id "${input.id}"): field \`title\`: must not be empty` };
        if (new Date(input.end) <= new Date(input.start))
          throw { code: "validation", message: `release (id "${input.id}"): field \`end\`: must be after start` };
        let r = releases.find((x) => x.id === input.id);
        const before = r ? conflictsOf(r) : [];
        const team = teams.find((t) => t.id === input.team);
        const fields = {
          title: input.title,
          team_id: input.team,
          team_name: team?.name ?? input.team,
          services: input.services,
          environment_id: input.environment,
          environment_name: input.environment === "prod" ? "Production" : "Staging",
          production: input.environment === "prod",
          start: at(new Date(input.start).getTime()),
          end: at(new Date(input.end).getTime()),
          status: input.status,
          owner: input.owner,
          depends_on: input.depends_on,
          readiness: 100,
        };
        if (r) Object.assign(r, fields);
        else releases.push((r = { id: input.id, ...fields }));
        return change(r, before);
      }
      case "preview_release": {
        const input = (args as { input: ReleaseInput }).input;
        if (new Date(input.end) <= new Date(input.start))
          throw { code: "validation", message: `release (id "${input.id}"): field \`end\`: must be after start` };
        const existing = releases.find((x) => x.id === input.id);
        const candidate = {
          ...(existing ?? releases[0]!),
          id: input.id,
          title: input.title,
          status: input.status,
          start: at(new Date(input.start).getTime()),
          end: at(new Date(input.end).getTime()),
        };
        return { before: existing ? conflictsOf(existing) : [], after: conflictsOf(candidate) };
      }
      case "find_slot": {
        // Like the backend, with the one rule this stand-in knows: the first
        // start at or after `after` whose stretch misses the hard freeze.
        const request = (args as { request: SlotRequest }).request;
        const length = /^PT(\d+)([MS])$/.exec(request.duration);
        if (!length) throw { code: "validation", message: `slot: --duration: \`${request.duration}\` is not an ISO 8601 duration` };
        const ms = Number(length[1]) * (length[2] === "M" ? 60_000 : 1000);
        let start = request.after ? new Date(request.after).getTime() : clock();
        const skipped: SlotReport["skipped"] = [];
        const fs = new Date(freeze.start).getTime(),
          fe = new Date(freeze.end).getTime();
        if (start < fe && fs < start + ms) {
          skipped.push({ start: freeze.start, end: freeze.end, code: "freeze.hard", reason: `${freeze.name} (hard) from ${freeze.start} to ${freeze.end}` });
          start = fe;
        }
        const iso = (t: number) => new Date(t).toISOString().replace(/\.000Z$/, "Z");
        return {
          found: true,
          start: iso(start),
          end: iso(start + ms),
          skipped,
          skipped_truncated: false,
          team: request.team,
          zone: "UTC",
          message: `earliest slot: ${iso(start)}`,
        } satisfies SlotReport;
      }
      case "agenda": {
        // Like the backend's, for what this stand-in knows: production needs two approvals.
        const { from, to } = args as { from: string; to: string };
        const f = Date.parse(from),
          t = Date.parse(to);
        const items = releases
          .filter((r) => !r.id.startsWith("bulk-") && ["draft", "planned", "approved"].includes(r.status))
          .filter((r) => Date.parse(r.start) >= f && Date.parse(r.start) < t)
          .map((r) => {
            const have = new Set((approvals.get(r.id) ?? []).map((a) => a.by)).size;
            const need = r.production ? 2 : 0;
            const conflicts = conflictsOf(r);
            const asks = [
              ...(conflicts.length ? [`grant an exception to ${freeze.name} or move it`] : []),
              ...(have < need ? [`approve (${have} of ${need})`] : []),
            ];
            return {
              env: r.environment_name,
              production: r.production,
              item: {
                id: r.id,
                title: r.title,
                team_name: r.team_name,
                start: r.start,
                end: r.end,
                when: `${r.start} – ${r.end}`,
                status: r.status,
                owner: r.owner,
                risk: riskOf(r),
                readiness: r.production ? 50 : 100,
                required_open: r.production ? 1 : 0,
                rollback: r.production ? "none" : "tested",
                approvals: have,
                approvals_needed: need,
                conflicts,
                decision: asks.length ? asks.join("; ") : "confirm go",
                next_slot: conflicts.length ? freeze.end : null,
              },
            };
          });
        const names = [...new Set(items.map((i) => i.env))].sort(
          (a, b) => Number(items.find((i) => i.env === b)!.production) - Number(items.find((i) => i.env === a)!.production) || a.localeCompare(b),
        );
        const groups = names.map((name) => {
          const mine = items.filter((i) => i.env === name);
          return {
            environment: name.toLowerCase(),
            environment_name: name,
            production: mine[0]!.production,
            items: mine.map((i) => i.item).sort((a, b) => b.risk.score - a.risk.score || a.start.localeCompare(b.start)),
          };
        });
        const agenda = { from, to, timezone: "UTC", generated_at: at(clock()), groups, total: items.length };
        const markdown = [
          `# CAB agenda: ${from.slice(0, 10)} to ${to.slice(0, 10)}`,
          ...groups.flatMap((g) => [
            `## ${g.environment_name} (${g.items.length})`,
            ...g.items.map((i, n) => `### ${n + 1}. ${i.title} (risk ${i.risk.score}, ${i.risk.level})`),
          ]),
        ].join("\n\n");
        return { agenda, markdown } satisfies AgendaView;
      }
      case "metrics_view": {
        // Like the backend's, over ten releases of the last weeks that this
        // stand-in knows as deployed (the first is Checkout launch, so a
        // click opens its panel); hard freezes are the launch freeze.
        const { from, to, team } = args as { from: string; to: string; environment: string | null; team: string | null };
        const f = Date.parse(from),
          t = Date.parse(to);
        // With `bulk` (the paint benchmark): that many more, over two years.
        const count = 10 + (options.bulk ?? 0);
        const spacing = count > 10 ? (730 * DAY) / count : 6 * DAY;
        const past: MetricRelease[] = Array.from({ length: count }, (_, i) => ({
          id: i === 0 ? "checkout" : `past-${i}`,
          title: i === 0 ? "Checkout launch" : `Past release ${i}`,
          end: at(clock() - (i + 1) * spacing),
          status: i % 4 === 3 ? "rolled_back" : "done",
        }));
        const teamOf = (i: number) => (i % 2 === 0 ? "payments" : "identity");
        const deployed = past.filter((r, i) => Date.parse(r.end) >= f && Date.parse(r.end) < t && (!team || teamOf(i) === team));
        const rolled = deployed.filter((r) => r.status === "rolled_back");
        const weeks: MetricWeek[] = [];
        for (let w = f; w < t; w += 7 * DAY) {
          const inside = deployed.filter((r) => Date.parse(r.end) >= w && Date.parse(r.end) < Math.min(t, w + 7 * DAY));
          const failed = inside.filter((r) => r.status === "rolled_back").length;
          weeks.push({ start: at(w), deployments: inside.length, rolled_back: failed, change_failure_rate: inside.length ? failed / inside.length : null });
        }
        const days = (t - f) / DAY;
        return {
          from,
          to,
          environments: ["prod"],
          figures: {
            deployments: deployed.length,
            deployment_frequency_per_week: deployed.length / (days / 7),
            change_failure_rate: deployed.length ? rolled.length / deployed.length : null,
            time_to_restore_median_hours: rolled.length ? 6 : null,
            lead_time_median_hours: deployed.length ? 30 : null,
            approval_lead_time_median_hours: null,
            rush_per_day: null,
            baseline_per_day: deployed.length / days,
            after_freeze_change_failure_rate: null,
            freeze_delay_total_hours: 0,
          },
          weeks,
          freezes: [{ name: freeze.name, start: freeze.start, end: freeze.end }].filter((z) => Date.parse(z.end) > f && Date.parse(z.start) < t),
          releases: { deployments: deployed, rolled_back: rolled, rush: [], after_freeze: [] },
        } satisfies MetricsView;
      }
      case "risk_weights":
        return riskWeights;
      case "save_risk_weights": {
        const weights = (args as { weights: RiskWeights }).weights;
        const bad = Object.entries(weights).find(([, w]) => !Number.isInteger(w) || w < 0 || w > 100);
        if (bad) throw { code: "validation", message: `risk weights: field \`${bad[0]}\`: at most 100 points` };
        riskWeights = { ...weights };
        return riskWeights;
      }
      case "set_release_status": {
        const { id, status } = args as { id: string; status: string };
        const r = find(id);
        const before = conflictsOf(r);
        r.status = status;
        return change(r, before);
      }
      case "release_detail": {
        const r = find((args as { id: string }).id);
        return {
          id: r.id,
          title: r.title,
          team_id: r.team_id,
          team_name: r.team_name,
          services: r.services,
          environment_id: r.environment_id,
          environment_name: r.environment_name,
          production: r.production,
          start: r.start,
          end: r.end,
          status: r.status,
          owner: r.owner,
          version: null,
          artifact: null,
          depends_on: [],
          dependents: [],
          approvals: approvals.get(r.id) ?? [],
          required_approvals: r.production ? 2 : 0,
          checklist: checklists.get(r.id) ?? [],
          readiness: score(r.id),
          rollback: rollbacks.get(r.id) ?? null,
          overrides: overrides.get(r.id) ?? [],
          exception_requests: requests
            .filter((q) => q.release === r.id)
            .map((q) => ({
              id: q.id,
              freeze: q.freeze,
              freeze_name: freeze.name,
              reason: q.reason,
              expires: q.expires ?? null,
              requested_by: q.requested_by,
              requested_at: q.requested_at,
              state: q.state,
              decided_by: q.decided_by ?? null,
              decided_at: q.decided_at ?? null,
              note: q.note ?? null,
            })),
          conflicts: conflictsOf(r),
          history: [
            {
              seq: 1,
              at: r.start,
              actor: "dana",
              action: "release.move",
              object_kind: "release",
              object_id: r.id,
              summary: "changed end, start",
              before: null,
              after: null,
              hash: "0".repeat(64),
            },
          ],
          risk: riskOf(r),
        } satisfies ReleaseDetail;
      }
      case "settings":
        return {
          calendar_timezone: "UTC",
          teams: teamList.map((t) => ({ id: t.id, name: t.name, timezone: t.timezone })),
          services: [
            { id: "checkout-api", team: "payments", depends_on: ["auth"] },
            { id: "auth", team: "identity", depends_on: [] },
          ],
          environments: [
            { id: "prod", name: "Production", production: true, max_concurrent: 2, required_approvals: 2 },
            { id: "staging", name: "Staging", production: false, max_concurrent: null, required_approvals: 0 },
          ],
          freezes: freezes.map((f) => ({ id: f.id, name: f.name, severity: f.severity, schedule: words(f) })),
          usage: teamList.map((t) => ({ kind: "team" as const, id: t.id, releases: releases.filter((r) => r.team_id === t.id).length })),
        } satisfies Settings;
      case "freeze_input": {
        const f = freezes.find((x) => x.id === (args as { id: string }).id);
        if (!f) throw { code: "not_found", message: "no such freeze" };
        return f;
      }
      case "preview_freeze": {
        const f = (args as { input: FreezeInput }).input;
        if (f.rrule !== null && !/^FREQ=/.test(f.rrule))
          throw { code: "validation", message: `freezes[1] (id "${f.id}"): field \`rrule\`: the RRULE has no FREQ (e.g. FREQ=WEEKLY)` };
        const first = clock() + DAY;
        return {
          description: words(f),
          timezone: f.timezone ?? "UTC",
          infinite: f.rrule !== null,
          next: [0, 1, 2].map((i) => ({ start: at(first + i * 7 * DAY), end: at(first + i * 7 * DAY + 3600_000) })),
          conflicts: [],
          conflicts_total: 0,
          // Like the backend, for the one case this stand-in knows: a daily
          // start between 02:00 and 03:00 in Berlin meets the spring gap.
          dst_warnings:
            f.rrule?.startsWith("FREQ=DAILY") && f.timezone === "Europe/Berlin" && /T02:/.test(f.start)
              ? [
                  `${f.name} (${f.id}): 28 Mar 2027 ${f.start.slice(11, 16)} does not exist in Europe/Berlin (the clocks go forward); this occurrence starts at 03:${f.start.slice(14, 16)}`,
                ]
              : [],
        } satisfies FreezePreview;
      }
      case "save_freeze": {
        const f = (args as { input: FreezeInput }).input;
        const i = freezes.findIndex((x) => x.id === f.id);
        const previous = i >= 0 ? freezes[i] : undefined;
        if (i >= 0) freezes[i] = f;
        else freezes.push(f);
        return objectChange("freeze", f.id, previous ? "updated" : "created", previous);
      }
      case "save_team": {
        const t = (args as { input: { id: string; name: string; timezone: string | null } }).input;
        if (!t.name.trim()) throw { code: "validation", message: `teams[${teamList.length}] (id "${t.id}"): field \`name\`: must not be empty` };
        const i = teamList.findIndex((x) => x.id === t.id);
        const previous = i >= 0 ? teamList[i] : undefined;
        if (i >= 0) teamList[i] = { ...t, timezone: t.timezone ?? "UTC" };
        else teamList.push({ ...t, timezone: t.timezone ?? "UTC" });
        return objectChange("team", t.id, previous ? "updated" : "created", previous);
      }
      case "delete_object": {
        const { kind, id } = args as { kind: ObjectKind; id: string };
        if (kind === "team" && releases.some((r) => r.team_id === id))
          throw {
            code: "validation",
            message: `team "${id}" cannot be deleted: ${releases.filter((r) => r.team_id === id).length} releases use it. Change those first.`,
          };
        if (kind === "freeze") {
          const i = freezes.findIndex((x) => x.id === id);
          const [previous] = freezes.splice(i, 1);
          return objectChange(kind, id, "deleted", previous);
        }
        if (kind === "team") {
          const previous = teamList.find((x) => x.id === id);
          teamList = teamList.filter((x) => x.id !== id);
          return objectChange(kind, id, "deleted", previous);
        }
        if (kind === "release") {
          const i = releases.findIndex((x) => x.id === id);
          const [previous] = releases.splice(i, 1);
          return objectChange(kind, id, "deleted", previous);
        }
        throw { code: "internal", message: `the fake backend cannot delete a ${kind}` };
      }
      case "undo_change": {
        const { undo } = args as { undo: Undo };
        if (undo.kind === "release" && undo.before !== null && undo.after !== null) {
          const r = find(undo.id);
          const before = conflictsOf(r);
          putBack(r, undo.before);
          return change(r, before);
        }
        const value = undo.before === null ? null : JSON.parse(undo.before);
        const list = listOf(undo.kind);
        const i = list.findIndex((x) => x.id === undo.id);
        const current = i >= 0 ? list[i] : undefined;
        if (value === null) list.splice(i, 1);
        else if (i >= 0) list[i] = value;
        else list.splice(undo.position ?? list.length, 0, value);
        return objectChange(undo.kind, undo.id, value === null ? "deleted" : current ? "updated" : "created", current);
      }
      case "approve_release": {
        const r = find((args as { id: string }).id);
        const list = approvals.get(r.id) ?? [];
        if (r.owner === userName)
          throw { code: "validation", message: `release (id "${r.id}"): field \`approvals\`: ${userName} runs this release and cannot approve it` };
        if (list.some((a) => a.by === userName))
          throw { code: "validation", message: `release (id "${r.id}"): field \`approvals\`: ${userName} has already approved it` };
        approvals.set(r.id, [...list, { by: userName, at: at(clock()) }]);
        return change(r, conflictsOf(r));
      }
      case "revoke_approval": {
        const { id, approver } = args as { id: string; approver: string };
        const r = find(id);
        approvals.set(
          r.id,
          (approvals.get(r.id) ?? []).filter((a) => a.by !== approver),
        );
        return change(r, conflictsOf(r));
      }
      case "request_override": {
        const { id, freeze: f, reason, approver, expires } = args as { id: string; freeze: string; reason: string; approver: string; expires: string | null };
        const r = find(id);
        if (!reason.trim()) throw { code: "validation", message: `release (id "${r.id}"): field \`overrides.reason\`: say why the freeze must be broken` };
        (globalThis as { relcalLastOverride?: unknown }).relcalLastOverride = { freeze: f, expires };
        overrides.set(r.id, [...(overrides.get(r.id) ?? []), { freeze: f, freeze_name: freeze.name, reason, by: approver, requested_by: "me", expires }]);
        return change(r, conflictsOf(r));
      }
      case "ask_exception": {
        const { id, freeze: f, reason, expires } = args as { id: string; freeze: string; reason: string; expires: string | null };
        const r = find(id);
        if (!reason.trim()) throw { code: "validation", message: `release (id "${r.id}"): field \`overrides.reason\`: say why the freeze must be broken` };
        const open = requests.find((q) => q.release === r.id && q.freeze === f && q.state === "pending");
        if (open)
          throw {
            code: "validation",
            message: `release (id "${r.id}"): field \`overrides.freeze\`: ${open.requested_by} already asked for this exception (request ${open.id})`,
          };
        const asked: ExceptionRequest = {
          id: `x-${requests.length + 1}`,
          release: r.id,
          freeze: f,
          reason: reason.trim(),
          expires: expires ?? undefined,
          requested_by: userName,
          requested_at: at(clock()),
          state: "pending",
        };
        requests.unshift(asked);
        return asked;
      }
      case "approve_exception_request": {
        const q = pendingRequest((args as { request: string }).request);
        const r = find(q.release);
        if (q.requested_by === userName)
          throw {
            code: "validation",
            message: `release (id "${r.id}"): field \`overrides.by\`: ${userName} asked for the exception and cannot also approve it`,
          };
        if (r.owner === userName)
          throw {
            code: "validation",
            message: `release (id "${r.id}"): field \`overrides.by\`: ${userName} runs this release and cannot approve its exception`,
          };
        const before = conflictsOf(r);
        overrides.set(r.id, [
          ...(overrides.get(r.id) ?? []),
          { freeze: q.freeze, freeze_name: freeze.name, reason: q.reason, by: userName, requested_by: q.requested_by, expires: q.expires ?? null },
        ]);
        Object.assign(q, { state: "approved", decided_by: userName, decided_at: at(clock()) });
        return change(r, before);
      }
      case "decline_exception_request":
      case "withdraw_exception_request": {
        const { request, note } = args as { request: string; note?: string | null };
        const q = pendingRequest(request);
        const withdraw = cmd === "withdraw_exception_request";
        if (withdraw && q.requested_by !== userName)
          throw { code: "validation", message: `exception request "${q.id}": field \`state\`: only ${q.requested_by} who asked may withdraw it` };
        if (!withdraw && q.requested_by === userName)
          throw { code: "validation", message: `exception request "${q.id}": field \`state\`: you asked for it; withdraw it instead of declining it` };
        Object.assign(q, { state: withdraw ? "withdrawn" : "declined", decided_by: userName, decided_at: at(clock()), note: note?.trim() || undefined });
        return q;
      }
      case "go_no_go": {
        const rows = releases
          .filter((r) => !r.id.startsWith("bulk-") && active(r))
          .map((r) => {
            const have = new Set((approvals.get(r.id) ?? []).map((a) => a.by)).size;
            const need = r.production ? 2 : 0;
            const reasons = [...conflictsOf(r).map((c) => c.message), ...(have < need ? [`${have} of ${need} approvals`] : [])];
            return {
              id: r.id,
              title: r.title,
              team_name: r.team_name,
              environment_name: r.environment_name,
              production: r.production,
              start: r.start,
              end: r.end,
              status: r.status,
              owner: r.owner,
              readiness: r.production ? 50 : 100,
              required_open: r.production ? 1 : 0,
              checklist_items: r.production ? 2 : 0,
              rollback: r.production ? "none" : "tested",
              approvals: have,
              approvals_needed: need,
              conflicts: { errors: conflictsOf(r).length, warnings: 0, infos: 0 },
              verdict: reasons.length ? "no_go" : "go",
              reasons,
              risk: riskOf(r),
            };
          });
        return { from: at(clock()), to: at(clock() + 7 * DAY), rows };
      }
      case "import_holidays": {
        const { severity } = args as { severity: string; environments: string[] };
        freezes.push({
          id: "holiday-christmas",
          name: "Christmas",
          severity,
          timezone: null,
          start: "2026-12-25T00:00:00",
          end: "2026-12-27T00:00:00",
          duration: null,
          rrule: null,
          exdates: [],
          teams: [],
          services: [],
          environments: [],
          reason: "Imported holiday",
        });
        return { created: 1, updated: 0, skipped: ["event 2 (Broken) has no DTSTART"], gained_total: 0 };
      }
      case "export_ics":
        return "/home/ana/relcal.ics";
      case "set_checklist_item": {
        const { id, input } = args as { id: string; input: { item_id: string; done: boolean; owner: string | null; note: string | null } };
        const r = find(id);
        const item = (checklists.get(id) ?? []).find((i) => i.id === input.item_id);
        if (!item) throw { code: "not_found", message: `release (id "${id}"): it has no checklist item "${input.item_id}"` };
        if (input.done && !item.done) Object.assign(item, { done_by: userName, done_at: at(clock()) });
        if (!input.done) Object.assign(item, { done_by: null, done_at: null });
        Object.assign(item, { done: input.done, owner: input.owner, note: input.note });
        r.readiness = score(id);
        return change(r, conflictsOf(r));
      }
      case "apply_checklist_template": {
        const r = find((args as { id: string }).id);
        const list = checklists.get(r.id) ?? [];
        if (!list.some((i) => i.id === "slo-monitoring"))
          list.push({
            id: "slo-monitoring",
            text: "SLOs and monitoring in place",
            required: true,
            done: false,
            owner: null,
            done_by: null,
            done_at: null,
            note: null,
          });
        checklists.set(r.id, list);
        r.readiness = score(r.id);
        return change(r, conflictsOf(r));
      }
      case "save_rollback": {
        const { id, input } = args as {
          id: string;
          input: {
            steps: string[];
            owner: string | null;
            time_budget_minutes: number | null;
            tested: boolean;
            tested_on: string | null;
            migration_reversible: boolean | null;
            triggers: string[];
          };
        };
        const r = find(id);
        const steps = input.steps.map((x) => x.trim()).filter(Boolean);
        if (!steps.length) throw { code: "validation", message: `release (id "${id}"): field \`rollback.steps\`: give at least one step` };
        rollbacks.set(id, { ...input, steps, triggers: input.triggers.map((x) => x.trim()).filter(Boolean) });
        return change(r, conflictsOf(r));
      }
      case "checklist_templates":
        return templatesState;
      case "save_checklist_templates": {
        const t = (args as { templates: typeof templatesState }).templates;
        for (const [i, tpl] of t.templates.entries())
          for (const [j, item] of tpl.items.entries())
            if (!item.text.trim()) throw { code: "validation", message: `templates[${i}] (id "${tpl.id}"): field \`items[${j}].text\`: must not be empty` };
        return (templatesState = t);
      }
      case "notify_settings":
        return notifyState;
      case "save_notify_settings": {
        const n = (args as { settings: typeof notifyState }).settings;
        if (n.freeze_leads.some((m) => m <= 0))
          throw {
            code: "validation",
            message: `notification settings: field \`freeze_leads\`: ${n.freeze_leads.find((m) => m <= 0)} minutes is not from 1 minute to 14 days`,
          };
        return (notifyState = n);
      }
      case "background_settings":
        return backgroundState;
      case "save_background_settings": {
        const b = (args as { settings: typeof backgroundState }).settings;
        return (backgroundState = { ...b, start_at_login_available: true });
      }
      case "plugin:event|listen":
        return 1;
      case "test_finish_opening":
        opening = false;
        return null;
      case "sync_view":
        return sync;
      case "connections":
        return connections;
      case "save_connections": {
        const { settings, gitlabToken } = args as { settings: AdapterSettings; gitlabToken: string | null };
        if (settings.gitlab_url && !/^https?:\/\//.test(settings.gitlab_url)) {
          throw { code: "validation", message: `connections: field \`gitlab_url\`: \`${settings.gitlab_url}\` is not an http:// or https:// address` };
        }
        if (settings.gitlab_url && !settings.gitlab_project)
          throw { code: "validation", message: "connections: field `gitlab_project`: give the project's id or group/name" };
        connections = {
          ...connections,
          settings: { ...settings, gitlab_url: settings.gitlab_url?.replace(/\/+$/, "") ?? null },
          gitlab_token: connections.gitlab_token || !!gitlabToken,
        };
        return connections;
      }
      case "run_connections": {
        const at = new Date(clock()).toISOString().replace(/\.\d+Z$/, "Z");
        connections = {
          ...connections,
          runs: [
            {
              source: "GitLab deployments",
              at,
              summary: "0 created, 1 updated, 0 removed, 0 unchanged",
              changes: 1,
              error: null,
              skipped: ['GitLab deployment 870: field `environment.name`: no environment here is called "review/x"'],
            },
            { source: "GitLab freeze periods", at, summary: "2 created, 0 updated, 0 removed, 0 unchanged", changes: 2, error: null, skipped: [] },
          ],
        };
        return connections;
      }
      case "connect_sync": {
        const { server, token } = args as { server: string; token: string | null };
        if (!/^https?:\/\/[^/?#]+/.test(server.trim())) {
          throw { code: "validation", message: `sync: field \`server\`: \`${server}\` is not an http:// or https:// server address` };
        }
        if (!token && sync.token_source === null) {
          throw { code: "validation", message: `no token for ${server}: connect to the server with a token first, or set RELCAL_TOKEN` };
        }
        if (token === "rc_wrong") throw { code: "unauthorized", message: `${server}: changes: the token is not valid` };
        sync = { ...sync, enabled: true, token_source: "keyring", status: { ...sync.status, server: server.trim().replace(/\/+$/, "") } };
        syncOnce();
        return sync;
      }
      case "disconnect_sync":
        return (sync = { ...sync, enabled: false });
      case "sync_now":
        return syncOnce();
      case "sync_conflicts":
        return syncConflicts;
      case "resolve_sync_conflict": {
        const { mutationId, keepMine } = args as { mutationId: string; keepMine: boolean };
        const c = syncConflicts.find((x) => x.mutation_id === mutationId);
        if (!c) throw { code: "not_found", message: `no unresolved sync conflict has the id "${mutationId}"` };
        syncConflicts = syncConflicts.filter((x) => x !== c);
        if (!keepMine && c.id === "checkout") find("checkout").owner = JSON.parse(c.fields[0]!.theirs!) as string;
        sync = { ...sync, status: { ...sync.status, conflicts: syncConflicts.length, pending: keepMine ? 1 : 0 } };
        return sync;
      }
      case "user_name":
        return userName;
      case "set_user_name": {
        const name = (args as { name: string }).name.trim();
        if (!name) throw { code: "validation", message: "settings: field `user_name`: give a name of 1 to 100 printable characters" };
        return (userName = name);
      }
      case "choose_plan_file":
        return {
          path: "/home/ana/plans/q1.json",
          summary: { teams: 2, services: 2, environments: 2, freezes: 2, releases: 12 },
          changes: { added: 5, changed: 3, removed: 4, removed_releases: 3 },
        };
      case "import_chosen_plan":
        return { path: "/home/ana/plans/q1.json", summary: { teams: 2, services: 2, environments: 2, freezes: 2, releases: 12 }, changes: null };
      case "export_plan":
        return {
          path: "/home/ana/relcal-plan.json",
          summary: { teams: 2, services: 2, environments: 2, freezes: 2, releases: releases.length },
          changes: null,
        };
      default:
        throw { code: "internal", message: `the fake backend has no command ${cmd}` };
    }
  }
}
