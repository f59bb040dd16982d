const ZONE_KEY = "relcal.zone";
const storage = typeof localStorage === "undefined" ? null : localStorage;

/** How times are shown everywhere in the window: one zone, switched in the
 * status bar and remembered between sessions. The one place the zone is kept. */
export const display = $state({ zone: storage?.getItem(ZONE_KEY) ?? "local" });
$effect.root(() => {
  $effect(() => {
    storage?.setItem(ZONE_KEY, display.zone);
  });
});

/** A choice of the window remembered between sessions (`localStorage`), applied by `apply`. */
export function remembered(key: string, fallback: string, apply: (value: string) => void) {
  const state = $state({ value: localStorage.getItem(key) ?? fallback });
  $effect.root(() => {
    $effect(() => {
      localStorage.setItem(key, state.value);
      apply(state.value);
    });
  });
  return state;
}

/** Shows the window light, dark, or as the system is. */
export function applyTheme(theme: string) {
  if (theme === "system") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.setAttribute("data-theme", theme);
}

/** `iso` formatted in the display zone. */
export function formatTime(iso: string, options: Intl.DateTimeFormatOptions): string {
  const timeZone = display.zone === "local" ? undefined : display.zone;
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(new Date(iso));
}

/** An instant in full, "Tue 1 Dec 2026, 14:05 CET", in the display zone (the release panel's history, approvals, checklist). */
export const formatMoment = (iso: string) =>
  formatTime(iso, { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
