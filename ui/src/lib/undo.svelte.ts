/**
 * The undo stack: how to take back each change, newest last. Every change
 * (of a release or of any other object) carries its own `undo`, and taking
 * it back is one call, `undoChange`: the backend puts back only the fields
 * that change changed, so what others changed since stays.
 */
import { commands, type ApiError, type Change, type Undo as UndoCopy } from "./bindings";

export type Outcome<T> = { status: "ok"; data: T } | { status: "error"; error: ApiError };
/** Takes a change back; its outcome is a change too (undone in turn by nothing). */
export type Undo = () => Promise<Outcome<Change>>;

/** The undo of any change: one call with what the change returned. */
export const undoOf =
  (c: { undo: UndoCopy }): Undo =>
  () =>
    commands.undoChange(c.undo);

class UndoStack {
  #stack = $state<Undo[]>([]);

  push(undo: Undo) {
    this.#stack.push(undo);
  }

  /** The newest undo, taken off the stack. */
  pop(): Undo | undefined {
    return this.#stack.pop();
  }

  /** Forgets everything (an import replaced the calendar). */
  clear() {
    this.#stack = [];
  }

  get size(): number {
    return this.#stack.length;
  }
}

export const undoStack = new UndoStack();
