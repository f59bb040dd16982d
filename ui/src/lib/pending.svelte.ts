/**
 * One form's action in flight: whether it runs (to disable its buttons) and
 * the error it ended with, for the form to show.
 */
export class Pending {
  busy = $state(false);
  error = $state<string | null>(null);

  /** Runs `action` (an error message, or null when done), then `done` if it succeeded. */
  run = async (action: () => Promise<string | null>, done: () => void = () => {}) => {
    this.busy = true;
    this.error = await action();
    this.busy = false;
    if (!this.error) done();
  };
}
