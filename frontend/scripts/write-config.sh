#!/bin/sh
# Write config.js for a static deployment of the built dashboard (e.g. a Cloud Run image
# serving dist/ with any static web server, or the snapshot bucket itself):
#   API_URL             the results API's origin, empty for the same origin;
#   DASHBOARD_SOURCE    api (default) or snapshots (read only SNAPSHOT_PUBLIC_URL's files);
#   SNAPSHOT_PUBLIC_URL where latest.json and the snapshots are published.
# Usage: API_URL=https://api.example.org scripts/write-config.sh dist
set -eu
dir="${1:-dist}"
url="${API_URL:-}"
url="${url%/}"
source="${DASHBOARD_SOURCE:-api}"
snapshots="${SNAPSHOT_PUBLIC_URL:-}"
for value in "$url" "$snapshots"; do
  case "$value" in
    *'"'*|*'\'*|*'<'*) echo "write-config: API_URL and SNAPSHOT_PUBLIC_URL must not contain quotes, backslashes or '<'" >&2; exit 2 ;;
  esac
done
case "$source" in
  api|snapshots) ;;
  *) echo "write-config: DASHBOARD_SOURCE must be api or snapshots, not '$source'" >&2; exit 2 ;;
esac
printf '// Written by write-config.sh from API_URL, DASHBOARD_SOURCE and SNAPSHOT_PUBLIC_URL.\nwindow.ESCRUTINIO_CONFIG = { apiUrl: "%s", source: "%s", snapshotsUrl: "%s" };\n' \
  "$url" "$source" "$snapshots" > "$dir/config.js"
echo "write-config: $dir/config.js -> apiUrl=\"$url\" source=\"$source\" snapshotsUrl=\"$snapshots\""
