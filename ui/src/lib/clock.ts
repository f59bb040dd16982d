/**
 * The app's clock, as the backend reads it (`RELCAL_NOW` moves it; see
 * crates/api/src/clock.rs). "Today" in every view comes from here, never from
 * the browser's clock alone, so a test can pin the date for the whole app.
 */
let offset = 0;

/** Sets the clock from the backend's current instant (RFC 3339). */
export function setClock(instant: string | null | undefined): void {
  const at = instant ? Date.parse(instant) : NaN;
  offset = Number.isFinite(at) ? at - Date.now() : 0;
}

/** The current instant on the app's clock. */
export function now(): Date {
  return new Date(Date.now() + offset);
}
