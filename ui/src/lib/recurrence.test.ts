import { describe, expect, it } from "vitest";
import { defaultSpec, fromDuration, fromRRule, slug, toDuration, toRRule, wall, weekdayOf } from "./recurrence";

const START = "2026-12-04T12:00"; // a Friday

describe("recurrence builder", () => {
  it("starts as weekly on the start's weekday", () => {
    expect(weekdayOf(START)).toBe("FR");
    expect(toRRule(defaultSpec(START), START)).toBe("FREQ=WEEKLY;BYDAY=FR");
  });

  it("writes each shape it offers", () => {
    const s = defaultSpec(START);
    expect(toRRule({ ...s, frequency: "weekdays" }, START)).toBe("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR");
    expect(toRRule({ ...s, frequency: "weekly", days: ["FR", "MO"], interval: 2 }, START)).toBe("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR");
    expect(toRRule({ ...s, frequency: "monthly_day", monthDay: -1 }, START)).toBe("FREQ=MONTHLY;BYMONTHDAY=-1");
    expect(toRRule({ ...s, frequency: "monthly_nth", nth: -1, nthDay: "FR" }, START)).toBe("FREQ=MONTHLY;BYDAY=-1FR");
    expect(toRRule({ ...s, frequency: "yearly", ends: "count", count: 3 }, START)).toBe("FREQ=YEARLY;COUNT=3");
    expect(toRRule({ ...s, frequency: "daily", ends: "until", until: "2027-01-31" }, START)).toBe("FREQ=DAILY;UNTIL=20270131T120000");
    expect(toRRule({ ...s, frequency: "custom", custom: "RRULE:FREQ=HOURLY;INTERVAL=6" }, START)).toBe("FREQ=HOURLY;INTERVAL=6");
  });

  it("reads back every rule it writes", () => {
    const s = defaultSpec(START);
    const specs = [
      { ...s, frequency: "daily" as const, interval: 3 },
      { ...s, frequency: "weekdays" as const, ends: "count" as const, count: 5 },
      { ...s, frequency: "weekly" as const, days: ["TU" as const, "TH" as const] },
      { ...s, frequency: "monthly_day" as const, monthDay: 15, ends: "until" as const, until: "2027-06-30" },
      { ...s, frequency: "monthly_nth" as const, nth: 2, nthDay: "WE" as const },
      { ...s, frequency: "yearly" as const },
    ];
    for (const spec of specs) {
      const rule = toRRule(spec, START);
      expect(toRRule(fromRRule(rule, START), START)).toBe(rule);
      expect(fromRRule(rule, START).frequency).toBe(spec.frequency);
    }
  });

  it("keeps any other rule as typed", () => {
    for (const rule of ["FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1", "FREQ=HOURLY", "FREQ=WEEKLY;BYDAY=2FR", "FREQ=DAILY;COUNT=2;COUNT=3", "nonsense"]) {
      const spec = fromRRule(rule, START);
      expect(spec.frequency).toBe("custom");
      expect(toRRule(spec, START)).toBe(rule);
    }
  });

  it("writes and reads durations", () => {
    expect(toDuration(0, 12, 0)).toBe("PT12H");
    expect(toDuration(2, 0, 0)).toBe("P2D");
    expect(toDuration(1, 12, 30)).toBe("P1DT12H30M");
    expect(toDuration(0, 0, 0)).toBe("PT0M");
    expect(fromDuration("P1DT12H")).toEqual({ days: 1, hours: 12, minutes: 0 });
    expect(fromDuration("P2W")).toEqual({ days: 14, hours: 0, minutes: 0 });
    expect(fromDuration("PT90S")).toBeNull();
  });
});

describe("freeze form fields", () => {
  it("shows a stored time as the wall time in the freeze's zone", () => {
    expect(wall("2026-12-04T12:00:00", "Europe/Berlin")).toBe("2026-12-04T12:00");
    expect(wall("2026-12-04T11:00:00Z", "Europe/Berlin")).toBe("2026-12-04T12:00");
    expect(wall("2026-07-04T11:00:00+00:00", "America/New_York")).toBe("2026-07-04T07:00");
    expect(wall(null, "UTC")).toBe("");
  });

  it("makes an id from a name", () => {
    expect(slug("Holiday freeze 2026!")).toBe("holiday-freeze-2026");
    expect(slug("  ***  ")).toBe("freeze");
    expect(slug("x".repeat(60))).toHaveLength(40);
  });
});
