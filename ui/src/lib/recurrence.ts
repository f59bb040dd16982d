/**
 * The freeze editor's recurrence builder: the choices a person makes, to and
 * from an RFC 5545 RRULE value. Only the shapes the builder offers are read
 * back; any other rule stays as typed, in the "custom rule" field. The rule's
 * meaning (words, occurrences, validation) comes from the Rust engine's
 * preview, never from here.
 */

import { DateTime } from "luxon";

export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const WEEKDAY_NAMES: Record<Weekday, string> = {
  MO: "Monday",
  TU: "Tuesday",
  WE: "Wednesday",
  TH: "Thursday",
  FR: "Friday",
  SA: "Saturday",
  SU: "Sunday",
};

export type Frequency = "daily" | "weekdays" | "weekly" | "monthly_day" | "monthly_nth" | "yearly" | "custom";

export interface RecurrenceSpec {
  frequency: Frequency;
  /** Every `interval` days / weeks / months / years. */
  interval: number;
  /** Weekly: on these days. */
  days: Weekday[];
  /** Monthly on day N: 1..31, or -1 for the last day. */
  monthDay: number;
  /** Monthly on the nth weekday: 1..4, or -1 for the last. */
  nth: number;
  nthDay: Weekday;
  ends: "never" | "until" | "count";
  /** Until this local date (YYYY-MM-DD), inclusive. */
  until: string;
  count: number;
  /** The rule as typed, for "custom". */
  custom: string;
}

/** A builder state for a freeze starting at `start` (a local date-time). */
export function defaultSpec(start: string): RecurrenceSpec {
  const day = weekdayOf(start);
  const date = Number(start.slice(8, 10)) || 1;
  return {
    frequency: "weekly",
    interval: 1,
    days: [day],
    monthDay: date,
    nth: Math.min(4, Math.ceil(date / 7)),
    nthDay: day,
    ends: "never",
    until: "",
    count: 10,
    custom: "",
  };
}

/** The weekday of a local date-time `YYYY-MM-DDTHH:mm`. */
export function weekdayOf(start: string): Weekday {
  const [y, m, d] = start.slice(0, 10).split("-").map(Number);
  const js = new Date(Date.UTC(y || 2000, (m || 1) - 1, d || 1)).getUTCDay();
  return WEEKDAYS[(js + 6) % 7] ?? "MO";
}

function ending(spec: RecurrenceSpec, startTime: string): string {
  if (spec.ends === "count") return `;COUNT=${Math.max(1, Math.floor(spec.count))}`;
  if (spec.ends === "until" && spec.until) {
    // UNTIL as a local date-time (the freeze's DTSTART is local): the end of that day's start time.
    const time = (startTime.slice(11, 16) || "00:00").replace(":", "");
    return `;UNTIL=${spec.until.replaceAll("-", "")}T${time}00`;
  }
  return "";
}

/** The RRULE value for the builder's choices (no `RRULE:` prefix). */
export function toRRule(spec: RecurrenceSpec, start: string): string {
  if (spec.frequency === "custom") return spec.custom.trim().replace(/^RRULE:/i, "");
  const every = spec.interval > 1 ? `;INTERVAL=${Math.floor(spec.interval)}` : "";
  const end = ending(spec, start);
  switch (spec.frequency) {
    case "daily":
      return `FREQ=DAILY${every}${end}`;
    case "weekdays":
      return `FREQ=WEEKLY${every};BYDAY=MO,TU,WE,TH,FR${end}`;
    case "weekly": {
      const days = WEEKDAYS.filter((d) => spec.days.includes(d));
      return `FREQ=WEEKLY${every};BYDAY=${(days.length ? days : [weekdayOf(start)]).join(",")}${end}`;
    }
    case "monthly_day":
      return `FREQ=MONTHLY${every};BYMONTHDAY=${spec.monthDay}${end}`;
    case "monthly_nth":
      return `FREQ=MONTHLY${every};BYDAY=${spec.nth}${spec.nthDay}${end}`;
    case "yearly":
      return `FREQ=YEARLY${every}${end}`;
  }
}

/**
 * The builder's choices for an existing rule, or `custom` when the rule has
 * parts the builder does not offer (it is then edited as text).
 */
export function fromRRule(rule: string, start: string): RecurrenceSpec {
  const spec = defaultSpec(start);
  const parts = new Map<string, string>();
  for (const part of rule
    .trim()
    .replace(/^RRULE:/i, "")
    .split(";")) {
    if (!part) continue;
    const [k, v] = part.split("=");
    if (!k || v === undefined || parts.has(k.toUpperCase())) return { ...spec, frequency: "custom", custom: rule };
    parts.set(k.toUpperCase(), v.toUpperCase());
  }
  const custom = { ...spec, frequency: "custom" as const, custom: rule };
  const take = (k: string) => {
    const v = parts.get(k);
    parts.delete(k);
    return v;
  };
  const freq = take("FREQ");
  const interval = take("INTERVAL");
  if (interval !== undefined) {
    if (!/^[1-9][0-9]*$/.test(interval)) return custom;
    spec.interval = Number(interval);
  }
  const count = take("COUNT");
  const until = take("UNTIL");
  if (count !== undefined && until !== undefined) return custom;
  if (count !== undefined) {
    if (!/^[1-9][0-9]*$/.test(count)) return custom;
    spec.ends = "count";
    spec.count = Number(count);
  }
  if (until !== undefined) {
    const m = /^(\d{4})(\d{2})(\d{2})/.exec(until);
    if (!m) return custom;
    spec.ends = "until";
    spec.until = `${m[1]}-${m[2]}-${m[3]}`;
  }
  const byday = take("BYDAY");
  const bymonthday = take("BYMONTHDAY");
  if (parts.size > 0) return custom;
  const days = byday?.split(",") ?? [];
  const plainDays = days.every((d) => (WEEKDAYS as readonly string[]).includes(d));
  if (freq === "DAILY" && !byday && !bymonthday) spec.frequency = "daily";
  else if (freq === "WEEKLY" && !bymonthday && byday && plainDays) {
    if (days.join(",") === "MO,TU,WE,TH,FR") spec.frequency = "weekdays";
    else {
      spec.frequency = "weekly";
      spec.days = days as Weekday[];
    }
  } else if (freq === "WEEKLY" && !byday && !bymonthday) {
    spec.frequency = "weekly";
    spec.days = [weekdayOf(start)];
  } else if (freq === "MONTHLY" && bymonthday && !byday && /^(-1|[1-9]|[12][0-9]|3[01])$/.test(bymonthday)) {
    spec.frequency = "monthly_day";
    spec.monthDay = Number(bymonthday);
  } else if (freq === "MONTHLY" && byday && !bymonthday) {
    const m = /^(-1|[1-4])(MO|TU|WE|TH|FR|SA|SU)$/.exec(byday);
    if (!m) return custom;
    spec.frequency = "monthly_nth";
    spec.nth = Number(m[1]);
    spec.nthDay = m[2] as Weekday;
  } else if (freq === "YEARLY" && !byday && !bymonthday) spec.frequency = "yearly";
  else return custom;
  return spec;
}

/** An ISO 8601 duration from days, hours and minutes ("P1DT12H", "PT30M"). */
export function toDuration(days: number, hours: number, minutes: number): string {
  const d = Math.max(0, Math.floor(days || 0));
  const h = Math.max(0, Math.floor(hours || 0));
  const m = Math.max(0, Math.floor(minutes || 0));
  const time = `${h ? `${h}H` : ""}${m ? `${m}M` : ""}`;
  if (!d && !time) return "PT0M";
  return `P${d ? `${d}D` : ""}${time ? `T${time}` : ""}`;
}

/** Days, hours and minutes of a simple ISO 8601 duration, or null for another shape (weeks, seconds). */
export function fromDuration(text: string): { days: number; hours: number; minutes: number } | null {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(text.trim());
  if (!m || text.trim() === "P" || text.trim().endsWith("T")) {
    const w = /^P(\d+)W$/.exec(text.trim());
    return w ? { days: Number(w[1]) * 7, hours: 0, minutes: 0 } : null;
  }
  return { days: Number(m[1] ?? 0), hours: Number(m[2] ?? 0), minutes: Number(m[3] ?? 0) };
}

/** A stored time (local, or an instant) as the wall time `YYYY-MM-DDTHH:mm` in `zone`. */
export function wall(value: string | null | undefined, zone: string): string {
  if (!value) return "";
  if (/[zZ]|[+-]\d\d:\d\d$/.test(value)) {
    const t = DateTime.fromISO(value, { setZone: true }).setZone(zone);
    return t.isValid ? t.toFormat("yyyy-MM-dd'T'HH:mm") : value;
  }
  return value.slice(0, 16);
}

/** A new freeze's id from its name: lower case, dashes, at most 40 characters. */
export function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "freeze"
  );
}
