// The API's base URL comes from /config.js at runtime, never from the build.

declare global {
  interface Window {
    ESCRUTINIO_CONFIG?: { apiUrl?: string; pollMs?: number };
  }
}

const runtime = window.ESCRUTINIO_CONFIG ?? {};

export const API_URL: string = (runtime.apiUrl ?? "").replace(/\/+$/, "");
/** How often the summary is polled while the page is visible (the issue asks for < 2 s). */
export const POLL_MS: number = runtime.pollMs ?? 1000;
/** Hidden tabs poll slowly: hundreds of forgotten tabs should cost the API little. */
export const HIDDEN_POLL_MS = 10_000;
