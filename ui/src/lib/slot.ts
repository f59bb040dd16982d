/**
 * The release form's "Find a slot": the release as typed, as a slot request
 * for the backend (crates/api/src/slot.rs), and how a found slot fills the form.
 */
import type { ReleaseInput, SlotRequest } from "./bindings";

/** An ISO 8601 length for `ms` milliseconds: minutes when whole, else seconds. */
export function isoLength(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds % 60 === 0 ? `PT${seconds / 60}M` : `PT${seconds}S`;
}

/**
 * The release as typed, as a slot request: its environment, services, team,
 * owner and dependencies, and its length. The search starts at the typed
 * start, or now when that has passed. An edited release is left out of the
 * search (it cannot collide with itself). A string: why it cannot be asked yet.
 */
export function slotRequest(input: ReleaseInput, isNew: boolean, now: Date, avoidSoft: boolean): SlotRequest | string {
  const start = Date.parse(input.start);
  const end = Date.parse(input.end);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return "Set a start and an end first: the slot keeps the length.";
  if (end <= start) return "The end must be after the start: the slot keeps the length.";
  return {
    environment: input.environment,
    services: [...input.services],
    team: input.team || null,
    owner: input.owner?.trim() || null,
    after_releases: [...input.depends_on],
    duration: isoLength(end - start),
    after: start > now.getTime() ? new Date(start).toISOString().replace(/\.000Z$/, "Z") : null,
    within: null,
    avoid_soft: avoidSoft,
    moving: isNew ? null : input.id,
  };
}
