// Runtime configuration of the dashboard, read before the app starts.
// apiUrl: where the results API lives, without a trailing slash; "" means the same origin.
// source: "api" (default) or "snapshots" (read only the files published under snapshotsUrl).
// The server that hands out the dashboard rewrites this file from API_URL, DASHBOARD_SOURCE
// and SNAPSHOT_PUBLIC_URL (Django does it in the local run; scripts/write-config.sh does it
// for a static image).
window.ESCRUTINIO_CONFIG = { apiUrl: "", source: "api", snapshotsUrl: "" };
