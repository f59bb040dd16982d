/**
 * A preview that follows what is typed: the engine is asked a moment after
 * the last change, and an answer that arrives after a newer question is
 * dropped. Used by the freeze editor and the release form.
 */
import type { ApiError } from "./bindings";
import { describeError } from "./calendar";

type Answer<T> = { status: "ok"; data: T } | { status: "error"; error: ApiError };

export function livePreview<I, T>(ask: (input: I) => Promise<Answer<T>>, delay = 200) {
  const state = $state<{ data: T | null; error: string | null; pending: boolean }>({ data: null, error: null, pending: false });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;
  return {
    state,
    /** Asks again about `input` (a copy is sent). */
    request(input: I) {
      const current = JSON.parse(JSON.stringify(input)) as I;
      clearTimeout(timer);
      state.pending = true;
      timer = setTimeout(async () => {
        const ticket = ++asked;
        const answer = await ask(current);
        if (ticket !== asked) return;
        state.pending = false;
        if (answer.status === "error") {
          state.error = describeError(answer.error);
          state.data = null;
        } else {
          state.error = null;
          state.data = answer.data;
        }
      }, delay);
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
