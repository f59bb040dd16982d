/**
 * The undo stack: how to take back each change, newest last. A change of a
 * team, service, environment or freeze (an `ObjectChange`) carries its own
 * undo, the object as it was; a release change is given one by its caller.
 */
import { commands, type ApiError, type ObjectChange, type ReleaseChange } from "./bindings";

export type Outcome<T> = { status: "ok"; data: T } | { status: "error"; error: ApiError };
export type AnyChange = ReleaseChange | ObjectChange;
/** Takes a change back; its outcome is a change too (undone in turn by nothing). */
export type Undo = () => Promise<Outcome<AnyChange>>;

/** Whether `c` changed one release (a move, a status, a checklist item, ...). */
export const isReleaseChange = (c: AnyChange): c is ReleaseChange => "release" in c;

/** The undo of an object change: put the object back as it was, where it was. */
export const restoreOf =
  (c: ObjectChange): Undo =>
  () =>
    commands.restoreObject(c.kind, c.id, c.previous, c.position);

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
