/**
 * Pure mapping from the engine's calendar view to what the calendar widget draws.
 * No Tauri and no DOM here, so it is unit-tested directly.
 */
import type { EventInput } from "@fullcalendar/core";
import type { ApiError, CalendarView, FreezePeriod, ReleaseEvent } from "./bindings";
import { teamColor } from "./colors";

export interface Legend {
  teams: { id: string; name: string; color: string }[];
}

export function legendOf(view: CalendarView): Legend {
  return { teams: view.teams.map((t, i) => ({ id: t.id, name: t.name, color: teamColor(i) })) };
}

const STATUS_LABEL: Record<string, string> = {
  draft: "Draft",
  planned: "Planned",
  approved: "Approved",
  in_progress: "In progress",
  done: "Done",
  rolled_back: "Rolled back",
  cancelled: "Cancelled",
};

export function statusLabel(status: string): string {
  return STATUS_LABEL[status] ?? status;
}

export function releaseEvent(r: ReleaseEvent, colorOf: Map<string, string>): EventInput {
  const color = colorOf.get(r.team_id) ?? teamColor(0);
  return {
    id: `release:${r.id}`,
    title: r.title,
    start: r.start,
    end: r.end,
    backgroundColor: color,
    borderColor: color,
    classNames: ["release", `status-${r.status}`, ...(r.production ? ["production"] : [])],
    extendedProps: { kind: "release", release: r },
  };
}

function localDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * The whole local days that `[start, end)` touches, as an all-day span with an
 * exclusive end: the month grid only draws all-day background events.
 */
export function daysTouched(start: string, end: string): { start: string; end: string } {
  const last = new Date(new Date(end).getTime() - 1);
  const after = new Date(last.getFullYear(), last.getMonth(), last.getDate() + 1);
  return { start: localDate(new Date(start)), end: localDate(after) };
}

export function freezeEvent(f: FreezePeriod): EventInput {
  return {
    id: `freeze:${f.freeze_id}:${f.start}`,
    title: f.name,
    ...daysTouched(f.start, f.end),
    allDay: true,
    display: "background",
    classNames: ["freeze", `freeze-${f.severity}`],
    extendedProps: { kind: "freeze", freeze: f },
  };
}

/** Every event of a view: freezes as shaded background, releases coloured by team. */
export function eventsOf(view: CalendarView): EventInput[] {
  const colorOf = new Map(legendOf(view).teams.map((t) => [t.id, t.color]));
  return [...view.freezes.map(freezeEvent), ...view.releases.map((r) => releaseEvent(r, colorOf))];
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
  const lines = [
    `${f.name} (${f.severity} freeze${f.recurring ? ", recurring" : ""})`,
    `${fmt(f.start)} – ${fmt(f.end)}`,
    `Applies to: ${f.scope}`,
  ];
  if (f.reason) lines.push(f.reason);
  return lines.join("\n");
}
