#!/usr/bin/env bash
# The system packages a command needs, by group, each only when it is needed and missing:
#   build  compiling .venv's requirements: mysqlclient needs libmariadb-dev and pkg-config
#          (and a C compiler, Python's headers and venv, which a bare Debian may lack)
#   run    make run: a redis-server, when no Redis answers at REDIS_URL (run.py starts one)
#   test   make test: mariadb-server and redis-server (tests start and kill their own) and
#          Debian's chromium for the browser test (never a downloaded browser)
#   bench  make bench: mariadb-server, redis-server and wrk
# Usage: bash scripts/system_packages.sh GROUP...   (run from any directory)
# Root, or passwordless sudo, with apt-get: installs what is missing and says what. Elsewhere:
# prints the command to run and exits 3. Nothing missing: silent, exit 0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
export PATH="$PATH:/usr/sbin:/sbin"  # mariadbd lives in /usr/sbin, outside a user's PATH
need=()

want() {  # want PACKAGE CHECK: PACKAGE is missing when CHECK fails and dpkg does not list it
  local package=$1 check=$2
  if eval "$check" >/dev/null 2>&1; then return; fi
  if command -v dpkg >/dev/null && dpkg -s "$package" >/dev/null 2>&1; then return; fi
  [[ " ${need[*]} " == *" $package "* ]] || need+=("$package")
}

answers() {  # answers URL: something listens at the URL's host and port
  local hostport=${1#*://}
  hostport=${hostport#*@} && hostport=${hostport%%/*}
  local host=${hostport%:*} port=${hostport##*:}
  [ "$host" != "$hostport" ] || port=$2
  timeout 2 bash -c ">/dev/tcp/$host/$port" 2>/dev/null
}

python_is_the_systems() { [ "$("$PYTHON" -c 'import sys; print(sys.prefix)')" = /usr ]; }
python_version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
python_include=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
chromium=${CHROMIUM:-/usr/bin/chromium}  # the browser test's default (tests/browser/conftest.py)
redis_server() { want redis-server 'command -v redis-server'; }
mariadb_server() { want mariadb-server 'command -v mariadbd || command -v mysqld'; }

for group in "$@"; do
  case "$group" in
    build)
      want pkg-config 'command -v pkg-config'
      want libmariadb-dev 'pkg-config --exists mariadb || pkg-config --exists mysqlclient'
      want build-essential 'command -v cc'
      if python_is_the_systems; then  # pyenv's, Homebrew's and python.org's Pythons have both
        want "python$python_version-dev" '[ -f "$python_include/Python.h" ]'
        want "python$python_version-venv" '[ -x .venv/bin/python ] || "$PYTHON" -c "import ensurepip"'
      fi
      ;;
    run) answers "${REDIS_URL:-redis://127.0.0.1:6379/0}" 6379 || redis_server ;;
    test) mariadb_server; redis_server; want chromium '[ -x "$chromium" ] || command -v "$chromium"' ;;
    bench) mariadb_server; redis_server; want wrk 'command -v wrk' ;;
    *) echo "system_packages.sh: unknown group '$group' (build, run, test, bench)" >&2 && exit 2 ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo -n); fi
if ! command -v apt-get >/dev/null; then
  echo "Missing system packages (Debian names): ${need[*]}." >&2
  echo "  Install their equivalents (macOS: brew install mariadb pkg-config redis wrk), then run the command again." >&2
  exit 3
fi
if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
  echo "Missing system packages: ${need[*]}. Install them as root, then run the command again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
  exit 3
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"${as_root[@]}" apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; exit 3; }
# Ubuntu has no chromium package (a snap instead): the browser test then skips, saying so.
if [[ " ${need[*]} " == *" chromium "* ]] && ! apt-cache show chromium >/dev/null 2>&1; then
  echo "== system packages: no chromium in apt here; set CHROMIUM=/path/to/chromium for the browser test" >&2
  need=("${need[@]/chromium/}") && read -ra need <<<"${need[*]}"
  [ ${#need[@]} -eq 0 ] && exit 0
fi
echo "== system packages: installing ${need[*]} (apt-get)"
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "apt-get could not install: ${need[*]}" >&2
  exit 3
fi
