import { describe, expect, it } from "vitest";
import { actionOf, SHORTCUTS } from "./shortcuts";

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  shiftKey: false,
  ...mods,
});

describe("shortcuts", () => {
  it("maps plain keys and Ctrl keys to their actions", () => {
    expect(actionOf(key("n"))).toBe("newRelease");
    expect(actionOf(key("N", { shiftKey: true }))).toBe("newRelease");
    expect(actionOf(key("z", { ctrlKey: true }))).toBe("undo");
    expect(actionOf(key("z", { metaKey: true }))).toBe("undo");
    expect(actionOf(key("s", { ctrlKey: true }))).toBe("export");
    expect(actionOf(key("s"))).toBe("settings");
    expect(actionOf(key("Escape"))).toBe("close");
    expect(actionOf(key("?", { shiftKey: true }))).toBe("help");
  });

  it("runs nothing for modified plain keys, Ctrl+Shift, or keys a view handles", () => {
    expect(actionOf(key("n", { ctrlKey: true }))).toBeNull();
    expect(actionOf(key("n", { altKey: true }))).toBeNull();
    expect(actionOf(key("z", { ctrlKey: true, shiftKey: true }))).toBeNull();
    expect(actionOf(key("z"))).toBeNull();
    expect(actionOf(key("t"))).toBeNull();
    expect(actionOf(key("ArrowLeft"))).toBeNull();
  });

  it("lists each key once and each action once", () => {
    const bound = SHORTCUTS.flatMap((s) => (s.keys ?? []).map((k) => `${s.ctrl ? "ctrl+" : ""}${k}`));
    expect(new Set(bound).size).toBe(bound.length);
    const actions = SHORTCUTS.flatMap((s) => (s.action ? [s.action] : []));
    expect(new Set(actions).size).toBe(actions.length);
  });
});
