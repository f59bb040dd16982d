/**
 * The one way the window makes a change: run it, show what it did to the
 * conflicts (the toast, with Undo), remember how to take it back, and let
 * the window refresh what it shows.
 */
import type { Change } from "./bindings";
import { describeError, toastOf, type ToastModel } from "./calendar";
import { undoOf, undoStack, type Outcome } from "./undo.svelte";

export type ChangeOptions = {
  /** The object's name for the toast. */
  name?: string;
  /** False for an undo itself. */
  undoable?: boolean;
};

export class Changes {
  toast = $state<ToastModel | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `after` runs after every change that was written (refresh the views). */
  constructor(private after: (change: Change) => void) {}

  show(model: ToastModel) {
    this.toast = model;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => (this.toast = null), 12000);
  }

  /** Runs a change; resolves to an error message to show, or null when it was written. */
  apply = async (run: () => Promise<Outcome<Change>>, action: string, options: ChangeOptions = {}): Promise<string | null> => {
    const result = await run();
    if (result.status === "error") return describeError(result.error);
    const c = result.data;
    // Every change carries its own undo.
    if (options.undoable ?? true) undoStack.push(undoOf(c));
    this.show(toastOf(c, action, options.name));
    this.after(c);
    return null;
  };

  /** Takes back the last change; resolves to an error message, or null. */
  undo = async (): Promise<string | null> => {
    const last = undoStack.pop();
    if (!last) return null;
    return this.apply(last, "Undone", { undoable: false });
  };
}
