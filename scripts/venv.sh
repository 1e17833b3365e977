# Sourced by the other scripts: `source scripts/venv.sh REQUIREMENTS [GROUP...]`.
# First the system packages of the GROUPs (scripts/system_packages.sh; `build` too when pip is
# about to install), then a virtualenv in .venv with REQUIREMENTS, reinstalled only when it or
# a file it includes (-r) changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
req="${1:-requirements.txt}"
shift || true
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "escrutinio needs Python 3.11 or newer as \$PYTHON (found: $("$PYTHON" --version 2>&1))." >&2
  exit 3
fi
requirement_files() { echo "$1"; sed -n 's/^-r[[:space:]]*//p' "$1" | while read -r inc; do requirement_files "$inc"; done; }
stamp=".venv/.installed-$(basename "$req")"
stale=()
for file in $(requirement_files "$req"); do
  if [ ! -f "$stamp" ] || [ "$file" -nt "$stamp" ]; then stale=(build); fi
done
PYTHON="$PYTHON" bash scripts/system_packages.sh "${stale[@]}" "$@"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
if [ ${#stale[@]} -gt 0 ]; then
  echo "== installing $req"
  if ! .venv/bin/pip install -q -r "$req"; then
    echo "pip could not install $req (above). mysqlclient builds against the MariaDB/MySQL client" >&2
    echo "headers with pkg-config (Debian: libmariadb-dev pkg-config; macOS: brew install mariadb pkg-config)." >&2
    exit 3
  fi
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
