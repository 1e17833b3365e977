// Runtime configuration of the dashboard, read before the app starts.
// apiUrl: where the results API lives, without a trailing slash; "" means the same origin.
// The server that hands out the dashboard rewrites this file from its API_URL variable
// (Django does it in the local run; scripts/write-config.sh does it for a static image).
window.ESCRUTINIO_CONFIG = { apiUrl: "" };
