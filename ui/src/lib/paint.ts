/**
 * Time from an IPC answer to the painted view, for the paint benchmark
 * (`ui/tests/paint-bench.mjs`). A callback queued from requestAnimationFrame
 * runs after that frame is painted.
 */
export interface PaintSample {
  view: string;
  /** Milliseconds from the IPC answer to the painted frame. */
  ms: number;
  /** Events handed to the widget. */
  events: number;
}

export function measurePaint(view: string, answeredAt: number, events: number) {
  requestAnimationFrame(() =>
    setTimeout(() => {
      const ms = performance.now() - answeredAt;
      const log = ((globalThis as { relcalPaints?: PaintSample[] }).relcalPaints ??= []);
      log.push({ view, ms, events });
      if (log.length > 100) log.shift();
    }, 0),
  );
}
