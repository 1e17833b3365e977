#!/bin/sh
# Write config.js for a static deployment of the built dashboard (e.g. a Cloud Run image
# serving dist/ with any static web server): API_URL is the results API's origin,
# empty for the same origin. Usage: API_URL=https://api.example.org scripts/write-config.sh dist
set -eu
dir="${1:-dist}"
url="${API_URL:-}"
url="${url%/}"
case "$url" in
  *'"'*|*'\'*|*'<'*) echo "write-config: API_URL must not contain quotes, backslashes or '<'" >&2; exit 2 ;;
esac
printf '// Written by write-config.sh from API_URL.\nwindow.ESCRUTINIO_CONFIG = { apiUrl: "%s" };\n' "$url" > "$dir/config.js"
echo "write-config: $dir/config.js -> apiUrl=\"$url\""
