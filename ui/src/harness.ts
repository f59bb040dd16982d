// The UI in a plain browser with Tauri's IPC mocked: for the Playwright tests
// (`npm run test:browser`). Never part of the app's build.
import { mockIPC } from "@tauri-apps/api/mocks";
import { fakeBackend } from "./lib/fake-backend";

const params = new URLSearchParams(location.search);
// `?now=` pins the fake backend's clock (the browser tests pass RELCAL_NOW, or a fixed day).
const now = params.get("now");
mockIPC(
  fakeBackend(now ? new Date(now) : new Date(), {
    bulk: Number(params.get("bulk") ?? 0),
    teams: Number(params.get("teams") ?? 0),
    opening: params.has("opening"),
  }),
  // The app's events (a menu item, a clicked notification) are emitted by the tests.
  { shouldMockEvents: true },
);
await import("./main");
