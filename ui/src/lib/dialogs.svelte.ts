/**
 * The open dialogs, in the order they were opened: Escape closes the
 * topmost (a freeze opened from the settings closes before the settings),
 * and each one sits above the one it was opened from.
 */
type Entry = { id: number; close: () => void };

class DialogStack {
  #open = $state<Entry[]>([]);
  #next = 0;

  /** Registers a dialog that `close` closes; returns its id. */
  open(close: () => void): number {
    const id = ++this.#next;
    this.#open.push({ id, close });
    return id;
  }

  /** Forgets a dialog (it closed itself). */
  forget(id: number) {
    this.#open = this.#open.filter((e) => e.id !== id);
  }

  /** How many dialogs are below `id`: its place in the stack. */
  depth(id: number): number {
    const i = this.#open.findIndex((e) => e.id === id);
    return i < 0 ? this.#open.length : i;
  }

  /** How many dialogs are open. */
  get count(): number {
    return this.#open.length;
  }

  /** Closes the topmost dialog; false when none is open. */
  closeTop(): boolean {
    const top = this.#open.at(-1);
    if (!top) return false;
    top.close();
    return true;
  }
}

export const dialogs = new DialogStack();
