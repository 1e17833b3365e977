#!/bin/sh
# Run by the nginx image's entrypoint before nginx starts: config.js from API_URL.
set -eu
exec /usr/local/bin/write-config.sh /srv/dashboard
