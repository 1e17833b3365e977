"""What a benchmark ran on, for its results file: the same figures differ twofold between the
machines these benchmarks have run on, so every result names its CPU."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    meminfo = _read("/proc/meminfo")
    total_kb = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": models[0] if models else platform.processor(),
        "ram_gib": round(total_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def load_average() -> list[float]:
    """Over 1, 5 and 15 minutes: how busy the machine was besides the benchmark."""
    return [round(x, 2) for x in os.getloadavg()]


def _read(path: str) -> str:
    file = Path(path)
    return file.read_text() if file.exists() else ""
