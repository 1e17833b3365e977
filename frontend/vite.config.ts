import { defineConfig } from "vite";

// `npm run dev` proxies the API to a running backend (make run), so the page and the
// API share an origin as they do when Django serves the built files.
const backend = process.env.ESCRUTINIO_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false },
  server: { proxy: { "/api": backend } },
});
