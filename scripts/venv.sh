# Sourced by the other scripts: a virtualenv in .venv with the given requirements file,
# reinstalled only when that file changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
req="${1:-requirements.txt}"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "escrutinio needs Python 3.11 or newer as \$PYTHON (found: $("$PYTHON" --version 2>&1))." >&2
  exit 3
fi
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=".venv/.installed-$(basename "$req")"
if [ ! -f "$stamp" ] || [ "$req" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
  echo "== installing $req"
  if ! .venv/bin/pip install -q -r "$req"; then
    echo "pip could not install $req. mysqlclient needs the MariaDB/MySQL client headers and" >&2
    echo "pkg-config: apt-get install libmariadb-dev pkg-config (macOS: brew install mariadb pkg-config)." >&2
    exit 3
  fi
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
