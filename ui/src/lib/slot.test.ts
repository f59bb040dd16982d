import { describe, expect, it } from "vitest";
import { isoLength, slotRequest } from "./slot";
import type { ReleaseInput } from "./bindings";

const release = (start: string, end: string): ReleaseInput => ({
  id: "r1",
  title: "Checkout",
  team: "payments",
  services: ["checkout-api"],
  environment: "prod",
  start,
  end,
  status: "planned",
  owner: " dana ",
  depends_on: ["auth-5.2"],
  version: null,
});

describe("slotRequest", () => {
  const now = new Date("2027-01-04T12:00:00Z");

  it("asks from the typed start with the typed length, scope, owner and dependencies", () => {
    const r = slotRequest(release("2027-01-05T09:00:00Z", "2027-01-05T10:30:00Z"), true, now, false);
    expect(r).toEqual({
      environment: "prod",
      services: ["checkout-api"],
      team: "payments",
      owner: "dana",
      after_releases: ["auth-5.2"],
      duration: "PT90M",
      after: "2027-01-05T09:00:00Z",
      within: null,
      avoid_soft: false,
      moving: null,
    });
  });

  it("asks from now when the typed start has passed, and leaves an edited release out", () => {
    const r = slotRequest(release("2027-01-03T09:00:00Z", "2027-01-03T09:00:30Z"), false, now, true);
    expect(r).toMatchObject({ after: null, duration: "PT30S", moving: "r1", avoid_soft: true });
  });

  it("says why when the times cannot give a length", () => {
    expect(slotRequest(release("", "2027-01-03T09:00:00Z"), true, now, false)).toMatch(/Set a start and an end/);
    expect(slotRequest(release("2027-01-03T10:00:00Z", "2027-01-03T09:00:00Z"), true, now, false)).toMatch(/end must be after/);
  });
});

describe("isoLength", () => {
  it("writes whole minutes as minutes and the rest as seconds", () => {
    expect(isoLength(2 * 3600_000)).toBe("PT120M");
    expect(isoLength(61_000)).toBe("PT61S");
  });
});
