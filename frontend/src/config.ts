// The runtime configuration comes from /config.js, never from the build: one built bundle
// serves the API-backed site and the snapshot-backed one.

declare global {
  interface Window {
    ESCRUTINIO_CONFIG?: { apiUrl?: string; pollMs?: number; source?: string; snapshotsUrl?: string };
  }
}

const runtime = window.ESCRUTINIO_CONFIG ?? {};

export const API_URL: string = (runtime.apiUrl ?? "").replace(/\/+$/, "");
/** How often the summary is polled while the page is visible (the issue asks for < 2 s). */
export const POLL_MS: number = runtime.pollMs ?? 1000;
/** Hidden tabs poll slowly: hundreds of forgotten tabs should cost the API little. */
export const HIDDEN_POLL_MS = 10_000;

/** DASHBOARD_SOURCE: "api" (default) reads the results API; "snapshots" reads only the snapshot files. */
export const DATA_SOURCE: "api" | "snapshots" = runtime.source === "snapshots" ? "snapshots" : "api";
/** SNAPSHOT_PUBLIC_URL: where latest.json and the <id>/ folders are published, with a trailing slash. */
export const SNAPSHOTS_URL: string = (runtime.snapshotsUrl ?? "").replace(/\/*$/, "/");
/** A new snapshot is written every SNAPSHOT_INTERVAL_S (60 s): a quarter of that is fresh enough. */
export const MANIFEST_POLL_MS = 15_000;
/** The results pages re-read the API this often (conditional requests: an unchanged answer is a 304). */
export const RESULTS_POLL_MS = 5_000;
