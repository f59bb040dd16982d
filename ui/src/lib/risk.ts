/** The risk model's factors as the settings tab names them (docs/risk.md). */
import type { RiskWeights } from "./bindings";
export { DEFAULT_RISK_WEIGHTS } from "./bindings";

/** Every weight, in the model's order, with words; a new weight fails the type check until it has words. */
export const RISK_FACTORS: { key: keyof RiskWeights; label: string }[] = [
  { key: "production", label: "Production environment" },
  { key: "services", label: "Several services (all at five)" },
  { key: "dependents", label: "Releases that depend on it (all at five)" },
  { key: "freeze_nearby", label: "A freeze within a day (half within three days)" },
  { key: "readiness", label: "Readiness short of 100%" },
  { key: "approvals", label: "Approvals short of what the environment requires" },
  { key: "rollback", label: "No rollback plan, or one never rehearsed" },
  { key: "recent_rollbacks", label: "Its services' rolled-back releases, last 90 days (all at three)" },
  { key: "out_of_hours", label: "Weekend or out of hours in the team's zone" },
  { key: "owner_double_booked", label: "Its owner runs another release at the same time" },
];

/** Every weight is named once, in the order of the type. */
export function missingFactors(weights: RiskWeights): string[] {
  return Object.keys(weights).filter((k) => !RISK_FACTORS.some((f) => f.key === k));
}
