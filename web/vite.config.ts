/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The gateway serves the API, /files and /code on one port; in `npm run dev` Vite proxies them to it,
// so the browser still talks to a single origin (the gateway has no CORS).
const gateway = process.env.SIMLAB_GATEWAY ?? `http://127.0.0.1:${process.env.SIMLAB_PORT ?? "8080"}`;

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      "/simlab.v1.SimulationService": { target: gateway, changeOrigin: false },
      "/files": { target: gateway, changeOrigin: false },
      "/code": { target: gateway, changeOrigin: false },
      // A study's results; /studies/<id> itself is a page of the app.
      "^/studies/[^/]+/study\\.csv": { target: gateway, changeOrigin: false },
      // Sign-in: `simlab login --web --server http://localhost:5173` gives a link to this origin.
      "/auth": { target: gateway, changeOrigin: false },
    },
  },
  build: {
    outDir: "dist",
    sourcemap: false,
    chunkSizeWarningLimit: 5000,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
