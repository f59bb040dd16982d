import { describe, expect, it } from "vitest";
import { freezeSpans } from "./metricsChart";

describe("freezeSpans", () => {
  it("places freezes on the axis in weeks from the start, cut to the period", () => {
    const spans = freezeSpans("2027-01-04T00:00:00Z", 4, [
      { name: "inside", start: "2027-01-11T00:00:00Z", end: "2027-01-14T12:00:00Z" },
      { name: "cut", start: "2026-12-28T00:00:00Z", end: "2027-01-05T00:00:00Z" },
      { name: "after", start: "2027-03-01T00:00:00Z", end: "2027-03-02T00:00:00Z" },
    ]);
    expect(spans).toEqual([
      { name: "inside", start: 1, end: 1.5 },
      { name: "cut", start: 0, end: 1 / 7 },
    ]);
  });
});
