/** Words for the sync status line. */
import type { SyncView } from "./bindings";
import { now as clockNow } from "./clock";

/** "14:05" today, "3 Dec 14:05" otherwise, in the local zone. */
export function when(instant: string, now = clockNow()): string {
  const t = new Date(instant);
  const time = t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return t.toDateString() === now.toDateString() ? time : `${t.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

/** The status bar's words and tone for a sync view. */
export function syncLabel(view: SyncView | null, now = clockNow()): { text: string; tone: "off" | "ok" | "busy" | "warn" | "bad" } {
  if (!view || !view.enabled) return { text: "Sync off", tone: "off" };
  const pending = view.status.pending ? ` · ${view.status.pending} pending` : "";
  if (view.status.conflicts) return { text: `${view.status.conflicts} sync conflict${view.status.conflicts === 1 ? "" : "s"}${pending}`, tone: "bad" };
  if (view.syncing) return { text: `Syncing…${pending}`, tone: "busy" };
  if (view.status.offline) return { text: `Offline${pending}`, tone: "warn" };
  if (view.status.last_error || view.token_problem) return { text: `Sync failed${pending}`, tone: "bad" };
  if (!view.status.last_ok_at) return { text: `Not synced yet${pending}`, tone: "warn" };
  return { text: `Synced ${when(view.status.last_ok_at, now)}${pending}`, tone: "ok" };
}

const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/**
 * A sync conflict's field value (JSON text) as a person reads it: a string
 * without quotes, an instant through `formatInstant`, anything else as JSON,
 * `(not set)` for none.
 */
export function fieldText(v: string | null, formatInstant: (iso: string) => string): string {
  if (v === null) return "(not set)";
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    return v;
  }
  if (typeof parsed !== "string") return v;
  return INSTANT.test(parsed) ? formatInstant(parsed) : parsed;
}
