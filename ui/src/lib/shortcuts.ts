/**
 * Every keyboard shortcut, once: the `?` list shows this table, and the
 * app's key handler runs the action of the key pressed. Keys a view handles
 * itself (today, previous/next, the calendar's views, the timeline's pages)
 * are listed with no action here.
 */
export type Action =
  | "newRelease"
  | "newFreeze"
  | "settings"
  | "search"
  | "layout"
  | "goNoGo"
  | "cab"
  | "metrics"
  | "conflicts"
  | "edit"
  | "delete"
  | "undo"
  | "import"
  | "export"
  | "sync"
  | "close"
  | "help";

export type Shortcut = {
  /** As the list shows it (space-separated keys). */
  label: string;
  what: string;
  /** What the app does, or none where a view handles the key itself. */
  action?: Action;
  /** The `KeyboardEvent.key` values that run it. */
  keys?: string[];
  /** With Ctrl (⌘ on a Mac). */
  ctrl?: boolean;
};

export const SHORTCUTS: Shortcut[] = [
  { label: "N", what: "New release", action: "newRelease", keys: ["n", "N"] },
  { label: "F", what: "New freeze", action: "newFreeze", keys: ["f", "F"] },
  { label: "S", what: "Freezes, teams, services and environments", action: "settings", keys: ["s", "S"] },
  { label: "/", what: "Search releases", action: "search", keys: ["/"] },
  { label: "T", what: "Today" },
  { label: "← →", what: "Previous / next period" },
  { label: "M W A", what: "Month, week, agenda" },
  { label: "L", what: "Calendar or team timeline", action: "layout", keys: ["l", "L"] },
  { label: "G", what: "Go/no-go for the coming days", action: "goNoGo", keys: ["g", "G"] },
  { label: "B", what: "CAB agenda (board meeting), printable", action: "cab", keys: ["b", "B"] },
  { label: "K", what: "Delivery metrics: the four keys and what freezes do", action: "metrics", keys: ["k", "K"] },
  { label: "PageUp PageDown", what: "Previous / next teams on the timeline" },
  { label: "C", what: "Show or hide conflicts", action: "conflicts", keys: ["c", "C"] },
  { label: "E", what: "Edit the open release", action: "edit", keys: ["e", "E"] },
  { label: "Delete", what: "Delete the open release", action: "delete", keys: ["Delete"] },
  { label: "Ctrl+Z", what: "Undo the last change", action: "undo", keys: ["z"], ctrl: true },
  { label: "Ctrl+O", what: "Import a plan", action: "import", keys: ["o"], ctrl: true },
  { label: "Ctrl+S", what: "Export the calendar", action: "export", keys: ["s"], ctrl: true },
  { label: "Y", what: "Sync with your team's server", action: "sync", keys: ["y", "Y"] },
  { label: "Esc", what: "Close the dialog or panel", action: "close", keys: ["Escape"] },
  { label: "?", what: "This list", action: "help", keys: ["?"] },
];

/** The action of a key press, if any (no other modifier than Ctrl/⌘ where the shortcut has it). */
export function actionOf(e: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "altKey" | "shiftKey">): Action | null {
  const ctrl = e.ctrlKey || e.metaKey;
  for (const s of SHORTCUTS) {
    if (!s.action || !s.keys?.includes(e.key)) continue;
    if (s.ctrl ? ctrl && !e.shiftKey && !e.altKey : !ctrl && !e.altKey) return s.action;
  }
  return null;
}
