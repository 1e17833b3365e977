"""scripts/system_packages.sh, where it may not install: it prints what to run and stops.

Run as a real process, with a PATH that lacks what the case lacks (apt-get, dpkg, sudo) and
a Chromium that is missing, so it never installs anything on the machine running the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/project/ -> the repository
SCRIPT = ROOT / "scripts" / "system_packages.sh"


def _path_without(tmp_path: Path, hidden: set[str], shims: dict[str, str]) -> str:
    """A directory of /usr/bin's commands minus `hidden`, plus shell `shims`, as the only PATH."""
    farm = tmp_path / "bin"
    farm.mkdir()
    for command in Path("/usr/bin").iterdir():
        if command.name not in hidden and command.name not in shims:
            (farm / command.name).symlink_to(command)
    for name, body in shims.items():
        (farm / name).write_text(f"#!/bin/sh\n{body}\n")
        (farm / name).chmod(0o755)
    return str(farm)


def _system_packages(path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path, "PYTHON": sys.executable, "CHROMIUM": "/nonexistent/chromium"}
    return subprocess.run(
        ["bash", str(SCRIPT), "test"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_without_root_or_sudo_it_prints_the_apt_command_and_stops(tmp_path: Path) -> None:
    path = _path_without(
        tmp_path,
        hidden={"dpkg"},  # so the check cannot find chromium among the installed packages
        shims={"id": 'if [ "$1" = -u ]; then echo 1000; else exec /usr/bin/id "$@"; fi', "sudo": "exit 1"},
    )
    result = _system_packages(path)
    assert result.returncode == 3, result.stderr
    assert "Install them as root, then run the command again:" in result.stderr
    command = next(line.strip() for line in result.stderr.splitlines() if "apt-get install" in line)
    assert command.startswith("sudo apt-get update && sudo apt-get install -y --no-install-recommends ")
    assert "chromium" in command.split()
    assert "installing" not in result.stdout


def test_without_apt_it_names_the_packages_and_stops(tmp_path: Path) -> None:
    path = _path_without(tmp_path, hidden={"apt-get", "dpkg"}, shims={})
    result = _system_packages(path)
    assert result.returncode == 3, result.stderr
    assert "Missing system packages (Debian names):" in result.stderr
    assert "chromium" in result.stderr
    assert "installing" not in result.stdout
