/**
 * Pure mapping from the engine's calendar view to what the calendar widget draws.
 * No Tauri and no DOM here, so it is unit-tested directly.
 */
import type { EventInput } from "@fullcalendar/core";
import type {
  ApiError,
  CalendarView,
  ConflictItem,
  ConflictReport,
  ConflictsView,
  FreezePeriod,
  Change,
  ChangeAction,
  ObjectKind,
  ReleasePreview,
  ReleaseEvent,
} from "./bindings";
import { ACTIVE_STATUSES, RELEASE_STATUSES, SEVERITIES } from "./bindings";
import { DateTime } from "luxon";
import { teamColor } from "./colors";

/** What one calendar fetch brings: the range's events and the calendar's conflicts. */
export interface Loaded {
  view: CalendarView;
  conflicts: ConflictsView;
}

export interface Legend {
  teams: { id: string; name: string; color: string }[];
}

export function legendOf(view: CalendarView): Legend {
  return { teams: view.teams.map((t, i) => ({ id: t.id, name: t.name, color: teamColor(i) })) };
}

/** A release's status, as the domain names it (`RELEASE_STATUSES`). */
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** Whether a release in `status` still runs (the domain's `is_active`). */
export function isActive(status: string): boolean {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

const STATUS_LABEL: Record<ReleaseStatus, string> = {
  draft: "Draft",
  planned: "Planned",
  approved: "Approved",
  in_progress: "In progress",
  done: "Done",
  rolled_back: "Rolled back",
  cancelled: "Cancelled",
};

export function statusLabel(status: string): string {
  return STATUS_LABEL[status as ReleaseStatus] ?? status;
}

export type Severity = (typeof SEVERITIES)[number];
const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** How a release's conflicts show on its calendar event. */
export interface Badge {
  severity: Severity;
  count: number;
}

function asSeverity(s: string): Severity {
  return s === "error" || s === "warning" ? s : "info";
}

/** Per release: the worst severity among its conflicts and how many it has. */
export function badgesOf(conflicts: ConflictsView): Map<string, Badge> {
  return new Map(conflicts.badges.map((b) => [b.release, { severity: asSeverity(b.severity), count: b.count }]));
}

export interface ConflictFilter {
  severity: Severity | "all";
  team: string | "all";
  environment: string | "all";
}

export const NO_FILTER: ConflictFilter = { severity: "all", team: "all", environment: "all" };

/** The conflicts that pass the panel's filters. */
export function filterConflicts(items: ConflictItem[], f: ConflictFilter): ConflictItem[] {
  return items.filter(
    (i) =>
      (f.severity === "all" || i.conflict.severity === f.severity) &&
      (f.team === "all" || i.teams.includes(f.team)) &&
      (f.environment === "all" || i.environments.includes(f.environment)),
  );
}

export function releaseEvent(r: ReleaseEvent, colorOf: Map<string, string>, badge?: Badge): EventInput {
  const color = colorOf.get(r.team_id) ?? teamColor(0);
  return {
    id: `release:${r.id}`,
    // Finished and cancelled releases are history: not draggable.
    editable: isActive(r.status),
    title: r.title,
    start: r.start,
    end: r.end,
    backgroundColor: color,
    borderColor: color,
    classNames: ["release", `status-${r.status}`, ...(r.production ? ["production"] : []), ...(badge ? [`conflict-${badge.severity}`] : [])],
    extendedProps: { kind: "release", release: r, badge },
  };
}

/** The zone the calendar shows: "local" (the computer's), "UTC", or an IANA name. */
export type DisplayZone = string;

/** What can be done to an exception request from the release panel. */
export type RequestAction = "approve" | "decline" | "withdraw";

function inZone(iso: string, zone: DisplayZone): DateTime {
  const t = DateTime.fromISO(iso, { setZone: false });
  return zone === "local" ? t.toLocal() : t.setZone(zone);
}

/**
 * The whole days (in `zone`) that `[start, end)` touches, as an all-day span
 * with an exclusive end: the month grid only draws all-day background events.
 */
export function daysTouched(start: string, end: string, zone: DisplayZone = "local"): { start: string; end: string } {
  const first = inZone(start, zone).startOf("day");
  const after = inZone(end, zone).minus({ milliseconds: 1 }).startOf("day").plus({ days: 1 });
  return { start: first.toISODate() ?? "", end: after.toISODate() ?? "" };
}

/** The zones a person can switch the calendar to: theirs, UTC and every team's. */
export function zoneChoices(teams: { timezone: string | null }[], local: string): { value: DisplayZone; label: string }[] {
  const choices: { value: DisplayZone; label: string }[] = [{ value: "local", label: `My time (${local})` }];
  if (local !== "UTC") choices.push({ value: "UTC", label: "UTC" });
  for (const zone of [...new Set(teams.map((t) => t.timezone).filter((z): z is string => !!z))].sort()) {
    if (zone !== "UTC" && zone !== local) choices.push({ value: zone, label: zone });
  }
  return choices;
}

/**
 * A freeze period as shading. The month grid only draws all-day background
 * events, so there it covers the days it touches; time grids get exact times.
 */
export function freezeEvent(f: FreezePeriod, wholeDays = true, zone: DisplayZone = "local"): EventInput {
  return {
    id: `freeze:${f.freeze_id}:${f.start}`,
    title: f.name,
    ...(wholeDays ? { ...daysTouched(f.start, f.end, zone), allDay: true } : { start: f.start, end: f.end }),
    display: "background",
    classNames: ["freeze", `freeze-${f.severity}`],
    extendedProps: { kind: "freeze", freeze: f },
  };
}

/** Every event of a view: freezes as shaded background, releases coloured by team. */
export function eventsOf(
  view: CalendarView,
  badges: Map<string, Badge> = new Map(),
  wholeDayFreezes = true,
  filter: ReleaseFilter = SHOW_ALL,
  zone: DisplayZone = "local",
): EventInput[] {
  const colorOf = new Map(legendOf(view).teams.map((t) => [t.id, t.color]));
  const shown = view.releases.filter((r) => releaseMatches(r, filter));
  const releases = wholeDayFreezes ? foldBusyDays(shown, zone) : shown.map((r) => ({ release: r }));
  return [
    ...view.freezes.map((f) => freezeEvent(f, wholeDayFreezes, zone)),
    ...releases.map((x) => ("release" in x ? releaseEvent(x.release, colorOf, badges.get(x.release.id)) : moreEvent(x, badges))),
  ];
}

/** A month-grid day with more releases than this shows the first few and one "+N more" entry. */
export const FOLD_AT = 12;
const SHOWN_WHEN_FOLDED = 3;

/** The releases of a busy day that the month grid folds into one entry. */
export interface Folded {
  /** The day, YYYY-MM-DD in the display zone. */
  date: string;
  releases: ReleaseEvent[];
}

/**
 * Releases of the month grid, with each day that starts more than `FOLD_AT`
 * of them folded after its first few: the grid stays fast with thousands of
 * releases (FullCalendar lays out every event it is given), and the folded
 * entry opens that day's agenda. Quieter days are left to FullCalendar's own
 * "+more" popover.
 */
export function foldBusyDays(releases: ReleaseEvent[], zone: DisplayZone = "local"): ({ release: ReleaseEvent } | Folded)[] {
  const byDay = new Map<string, ReleaseEvent[]>();
  for (const r of releases) {
    const day = inZone(r.start, zone).toISODate() ?? r.start.slice(0, 10);
    let list = byDay.get(day);
    if (!list) byDay.set(day, (list = []));
    list.push(r);
  }
  const out: ({ release: ReleaseEvent } | Folded)[] = [];
  for (const [date, list] of byDay) {
    if (list.length <= FOLD_AT) {
      for (const release of list) out.push({ release });
      continue;
    }
    const sorted = [...list].sort((a, b) => a.start.localeCompare(b.start) || a.id.localeCompare(b.id));
    for (const release of sorted.slice(0, SHOWN_WHEN_FOLDED)) out.push({ release });
    out.push({ date, releases: sorted.slice(SHOWN_WHEN_FOLDED) });
  }
  return out;
}

function moreEvent(folded: Folded, badges: Map<string, Badge>): EventInput {
  let worst: Badge | undefined;
  for (const r of folded.releases) {
    const b = badges.get(r.id);
    if (b && (!worst || RANK[b.severity] < RANK[worst.severity])) worst = { severity: b.severity, count: 0 };
    if (b && worst && b.severity === worst.severity) worst.count += 1;
  }
  return {
    id: `more:${folded.date}`,
    title: `+${folded.releases.length} more releases`,
    start: folded.date,
    allDay: true,
    editable: false,
    classNames: ["more-releases", ...(worst ? [`conflict-${worst.severity}`] : [])],
    extendedProps: { kind: "more", date: folded.date, count: folded.releases.length, badge: worst, order: 1 },
  };
}

/** One line for a person from an error that crossed IPC (or anything thrown). */
export function describeError(e: unknown): string {
  if (e && typeof e === "object" && "message" in e && typeof (e as ApiError).message === "string") {
    const err = e as ApiError;
    return err.code ? `${err.message} (${err.code})` : err.message;
  }
  return String(e);
}

/** A tooltip for a release. */
export function releaseTooltip(r: ReleaseEvent, fmt: (iso: string) => string): string {
  const lines = [
    r.title,
    `${r.team_name} · ${r.environment_name}${r.production ? " (production)" : ""}`,
    `${fmt(r.start)} – ${fmt(r.end)}`,
    `Status: ${statusLabel(r.status)}${r.owner ? ` · Owner: ${r.owner}` : ""}`,
  ];
  if (r.services.length) lines.push(`Services: ${r.services.join(", ")}`);
  return lines.join("\n");
}

/** A tooltip for a freeze period. */
export function freezeTooltip(f: FreezePeriod, fmt: (iso: string) => string): string {
  const lines = [`${f.name} (${f.severity} freeze${f.recurring ? ", recurring" : ""})`, `${fmt(f.start)} – ${fmt(f.end)}`, `Applies to: ${f.scope}`];
  if (f.recurrence) lines.push(`Repeats ${f.recurrence}`);
  if (f.reason) lines.push(f.reason);
  return lines.join("\n");
}

/** What a change did to a release's conflicts: the ones it gained and the ones it lost. */
export function changeDiff(change: Pick<ReleasePreview, "before" | "after">): { gained: ConflictReport[]; lost: ConflictReport[] } {
  const key = (c: ConflictReport) => `${c.code}|${c.releases.join(",")}|${c.freeze ?? ""}`;
  const before = new Set(change.before.map(key));
  const after = new Set(change.after.map(key));
  return {
    gained: change.after.filter((c) => !before.has(key(c))),
    lost: change.before.filter((c) => !after.has(key(c))),
  };
}

/** What the change toast shows, for a release change or any other object's change. */
export interface ToastModel {
  /** "Moved checkout 2.0", "Deleted freeze Holiday freeze". */
  title: string;
  /** The release's window after the change, if it is a release. */
  when: { start: string; end: string } | null;
  gained: ConflictReport[];
  lost: ConflictReport[];
  gainedTotal: number;
  lostTotal: number;
  /** What stayed, for "its conflicts did not change (N)". */
  unchanged: string;
}

const NOUN: Record<ObjectKind, string> = { team: "team", service: "service", environment: "environment", freeze: "freeze", release: "release" };
const VERB: Record<ChangeAction, string> = { created: "Created", updated: "Saved", deleted: "Deleted" };

/** The toast of any change: a release's (with its window) or another object's. */
export function toastOf(change: Change, action: string, name?: string): ToastModel {
  const r = change.release;
  return {
    title: r ? `${action || VERB[change.action]} ${r.title}` : `${action || VERB[change.action]} ${NOUN[change.kind]} ${name ?? change.id}`,
    when: r ? { start: r.start, end: r.end } : null,
    gained: change.gained,
    lost: change.resolved,
    gainedTotal: change.gained_total,
    lostTotal: change.resolved_total,
    unchanged: r
      ? `Its conflicts did not change (${r.conflicts.length}).`
      : `The calendar's conflicts did not change (${change.after.errors} errors, ${change.after.warnings} warnings).`,
  };
}

/** What the calendar shows: a text search and filters on team, environment and status. */
export interface ReleaseFilter {
  text: string;
  team: string | "all";
  environment: string | "all";
  service: string | "all";
  status: string | "all";
}

export const SHOW_ALL: ReleaseFilter = { text: "", team: "all", environment: "all", service: "all", status: "all" };

/** True when the release passes the filter. Text matches title, id, owner, services, team and environment. */
export function releaseMatches(r: ReleaseEvent, f: ReleaseFilter): boolean {
  if (f.team !== "all" && r.team_id !== f.team) return false;
  if (f.environment !== "all" && r.environment_id !== f.environment) return false;
  if (f.service !== "all" && !r.services.includes(f.service)) return false;
  if (f.status !== "all" && r.status !== f.status) return false;
  const words = f.text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const haystack = [r.title, r.id, r.owner ?? "", r.team_name, r.environment_name, ...r.services].join(" ").toLowerCase();
  return words.every((w) => haystack.includes(w));
}

/**
 * Readiness per day of the month grid: the average score of the active
 * releases starting that day (in `zone`), rounded down. Days without an active
 * release are absent.
 */
export function readinessByDay(releases: ReleaseEvent[], zone: DisplayZone = "local"): Map<string, number> {
  const sums = new Map<string, { total: number; n: number }>();
  for (const r of releases) {
    if (!isActive(r.status)) continue;
    const day = inZone(r.start, zone).toISODate() ?? r.start.slice(0, 10);
    const s = sums.get(day) ?? { total: 0, n: 0 };
    s.total += r.readiness;
    s.n += 1;
    sums.set(day, s);
  }
  return new Map([...sums].map(([day, s]) => [day, Math.floor(s.total / s.n)]));
}

/** "1 release", "3 releases". */
export const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
