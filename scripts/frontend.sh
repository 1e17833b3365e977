#!/usr/bin/env bash
# Build the dashboard (frontend/dist) when it is missing or its sources changed since the
# last build. Used by `make run`, CI and the browser test.
# Exit status: 0 built or already up to date; 3 Node.js/npm missing or too old (says so);
# anything else: the build failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../frontend"
sources=(package.json package-lock.json index.html tsconfig.json vite.config.ts public src)
hash=$(find "${sources[@]}" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
stamp=node_modules/.escrutinio-dist-sources
if [ -f dist/index.html ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
  echo "== dashboard: frontend/dist is up to date"
  exit 0
fi
# Vite 8 needs Node.js 20.19+ or 22.12+.
if ! command -v npm >/dev/null 2>&1 || ! node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19) ? 0 : 1);
' 2>/dev/null; then
  echo "dashboard: cannot build frontend/dist: needs Node.js 20.19+ (or 22.12+) with npm" \
    "(found: $(node --version 2>/dev/null || echo 'no node'), npm $(npm --version 2>/dev/null || echo 'missing'))." >&2
  echo "  Install Node.js from https://nodejs.org or your package manager, then run make run again." >&2
  exit 3
fi
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.escrutinio-lock 2>/dev/null)" != "$lock" ]; then
  echo "== dashboard: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" > node_modules/.escrutinio-lock
fi
echo "== dashboard: npm run build"
npm run build --silent
echo "$hash" > "$stamp"
