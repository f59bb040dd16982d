/** How times are shown everywhere in the window: one zone, switched in the status bar. */
export const display = $state({ zone: "local" });

/** `iso` formatted in the display zone. */
export function formatTime(iso: string, options: Intl.DateTimeFormatOptions): string {
  const timeZone = display.zone === "local" ? undefined : display.zone;
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(new Date(iso));
}
