"""Headless Chromium (Debian's, never a downloaded one) and the built dashboard."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def dashboard_dist() -> Path:
    """frontend/dist, built first when missing or stale (scripts/frontend.sh decides)."""
    build = subprocess.run(
        ["bash", str(ROOT / "scripts" / "frontend.sh")], capture_output=True, text=True, timeout=600
    )
    if build.returncode == 3 and not (DIST / "index.html").exists():
        pytest.skip(f"no built dashboard and it cannot be built here: {build.stderr.strip()}")
    if build.returncode not in (0, 3):
        pytest.fail(f"building the dashboard failed:\n{build.stdout}\n{build.stderr}")
    return DIST


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread while it runs, and Django
    # refuses ORM calls where a loop runs. The test's own ORM calls are plain synchronous
    # code, so the check is lifted, for this module only.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
