import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Tauri loads dist/ from its own protocol in builds and this dev server in `tauri dev`.
// `--mode harness` builds the browser-test harness (IPC mocked) into dist-harness/ instead.
export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  clearScreen: false,
  base: "./",
  server: { port: 5173, strictPort: true },
  build:
    mode === "harness"
      ? { outDir: "dist-harness", target: "es2022", rollupOptions: { input: "harness.html" } }
      : { outDir: "dist", target: "es2022", sourcemap: false },
  test: { environment: "jsdom", include: ["src/**/*.test.ts"] },
}));
