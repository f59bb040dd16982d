import { describe, expect, it } from "vitest";
import { DEFAULT_RISK_WEIGHTS, RISK_FACTORS, missingFactors } from "./risk";

describe("risk factors", () => {
  it("name every weight once, with words", () => {
    expect(missingFactors(DEFAULT_RISK_WEIGHTS)).toEqual([]);
    expect(new Set(RISK_FACTORS.map((f) => f.key)).size).toBe(RISK_FACTORS.length);
    expect(RISK_FACTORS.every((f) => f.label.length > 0)).toBe(true);
  });

  it("keep the model's default weights, which sum past 100 so a risky release can reach the cap", () => {
    const total = Object.values(DEFAULT_RISK_WEIGHTS).reduce((a, b) => a + b, 0);
    expect(total).toBe(125);
    expect(DEFAULT_RISK_WEIGHTS.production).toBe(20);
  });
});
