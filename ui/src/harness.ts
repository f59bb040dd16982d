// The UI in a plain browser with Tauri's IPC mocked: for the Playwright tests
// (`npm run test:browser`). Never part of the app's build.
import { mockIPC } from "@tauri-apps/api/mocks";
import { fakeBackend } from "./lib/fake-backend";

mockIPC(fakeBackend(new Date()));
await import("./main");
